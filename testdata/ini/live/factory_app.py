"""An app factory, as Flask projects write them: uWSGI's
module = factory_app:create_app() calls it once per worker."""


def create_app():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"made by the factory"]
    return app
