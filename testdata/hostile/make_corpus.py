"""make_corpus: writes the hostile-request corpus next to this file.

    python3 testdata/hostile/make_corpus.py

http/NN-name.req are raw bytes sent to an HTTP listener, uwsgi/NN-name.pkt
raw bytes sent to a uwsgi listener; NN-name.expect beside each says what
must happen (cmd/gowsgi/hostile_test.go and gateway/hostile_test.go read
them):

    # why the case matters (first line, a comment)
    responses 200 400   the statuses of the responses, in order, before the
                        server closes the connection
    unanswered          (uwsgi) the server closes without answering
    app N               the app was called N times for these bytes
    body-length N       the first response's X-Body-Length (echo app)
    closed              the server closes the connection by itself
    half-close          the client shuts its write side after sending
    log REGEXP          the gowsgi log matches REGEXP

Edit the cases here and run the script again; the files are the fixtures.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
H = "Host: x\r\n"
S = "GET /hello/?smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

HTTP = [
 # name, raw, expect lines, comment
 ("00-control-get", "GET /hello/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["responses 200","app 1","closed"], "control: a plain GET is served"),
 ("01-control-post-length", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", ["responses 200","app 1","body-length 5","closed"], "control: a Content-Length body reaches the app whole"),
 ("02-control-chunked", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n3;ext=1\r\n!!!\r\n0\r\n\r\n", ["responses 200","app 1","body-length 8","closed"], "control: a chunked body (with a chunk extension) reaches the app de-chunked"),
 ("03-control-pipelined", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /hello/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["responses 200 200","app 2","closed"], "control: two pipelined requests are two requests, and the counting sees both"),
 ("04-control-chunked-trailer", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\nGET /hello/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["responses 200 200","app 2","closed"], "control: a chunked body with a trailer, then a pipelined request"),
 ("05-control-http10", "GET /hello/ HTTP/1.0\r\n\r\n", ["responses 200","app 1","closed"], "control: HTTP/1.0 without Host"),
 ("06-control-post-crlf", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\nGET /hello/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["responses 200 200","app 2","closed"], "control: the stray CRLF old clients send after a POST body is tolerated (RFC 9112 2.2)"),
 ("07-control-long-content-type", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", ["responses 200","app 1","body-length 5","closed"], "control: one Content-Type, longer than the values the guard keeps, is served"),
 ("10-cl-and-te", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+S, ["log refused a request from .*: both Content-Length and Transfer-Encoding","responses 400","app 0","closed"], "CL.TE smuggling: both Content-Length and Transfer-Encoding (net/http drops the Content-Length and serves it)"),
 ("11-te-and-cl", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 44\r\n\r\n0\r\n\r\n"+S, ["log refused a request from .*: both Transfer-Encoding and Content-Length","responses 400","app 0","closed"], "TE.CL smuggling: Transfer-Encoding before Content-Length"),
 ("12-cl-repeated-identical", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", ["log Content-Length appears twice","responses 400","app 0","closed"], "Content-Length twice with the same value (net/http merges them; nginx refuses them)"),
 ("13-cl-conflicting", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 49\r\n\r\nhello"+S, ["responses 400","app 0","closed"], "Content-Length twice with different values"),
 ("14-cl-list", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length as a list"),
 ("15-cl-plus-sign", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length with a sign"),
 ("16-cl-negative", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nhello", ["responses 400","app 0","closed"], "negative Content-Length"),
 ("17-cl-space-inside", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length with a space inside"),
 ("18-cl-empty", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\nhello", ["responses 400","app 0","closed"], "empty Content-Length"),
 ("19-cl-hex", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length in hex"),
 ("20-cl-overflow", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length past int64"),
 ("21-cl-name-space", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", ["responses 400","app 0","closed"], "space between the Content-Length name and its colon"),
 ("22-cl-obs-fold", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n 0\r\n\r\nhello", ["responses 400","app 0","closed"], "Content-Length continued on the next line (obs-fold)"),
 ("23-ct-repeated-identical", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", ["log refused a request from .*: Content-Type appears twice; answered 400","responses 400","app 0","closed"], "Content-Type twice with the same value (net/http keeps both; the environ would join them)"),
 ("24-ct-conflicting", "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\ncontent-type: application/x-www-form-urlencoded\r\n\r\nhello", ["log Content-Type appears twice","responses 400","app 0","closed"], "Content-Type twice with different values, in different cases: which one would the app see?"),
 ("30-chunk-size-nonhex", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk size that is not hex"),
 ("31-chunk-size-overflow", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk size past 64 bits"),
 ("32-chunk-size-negative", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "negative chunk size"),
 ("33-chunk-size-0x", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk size with a 0x prefix"),
 ("34-chunk-data-no-crlf", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", ["responses 400","app 0","closed"], "chunk data not followed by CRLF"),
 ("35-chunk-size-bare-lf", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk size line ended by a bare LF"),
 ("36-chunk-data-bare-lf", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk data followed by a bare LF"),
 ("37-chunk-size-space", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "chunk size with a space inside"),
 ("38-chunk-truncated", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", ["responses 400","app 0","closed","half-close"], "chunked body cut short, then the client half-closes"),
 ("39-chunk-ext-ctl", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "control character in a chunk extension"),
 ("40-te-gzip", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello", ["log refused a request from .*: a transfer coding other than chunked \\(Transfer-Encoding: gzip\\); answered 501","responses 501","app 0","closed"], "a transfer coding gowsgi does not implement: 501 (RFC 9112 6.1), though chunked is not last"),
 ("41-te-chunked-gzip", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", ["log chunked is not the last transfer coding \\(RFC 9112 6.3\\); answered 400","responses 400","app 0","closed"], "chunked not the last coding: the body's length cannot be known (RFC 9112 6.3: 400)"),
 ("42-te-gzip-chunked", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", ["log answered 501","responses 501","app 0","closed"], "a coding gowsgi does not implement before chunked: framed, but not understood (501)"),
 ("43-te-xchunked", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"+S, ["responses 501","app 0","closed"], "a coding that only contains chunked: an unknown coding (501), and the request after it is never read"),
 ("44-te-duplicated", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "Transfer-Encoding twice"),
 ("45-te-empty", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n", ["log a Transfer-Encoding that is not a list of transfer codings; answered 400","responses 400","app 0","closed"], "empty Transfer-Encoding"),
 ("46-te-http10", "POST /echo/ HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"+S, ["log Transfer-Encoding in an HTTP/1.0 request","responses 400","app 0","closed"], "Transfer-Encoding on HTTP/1.0 (net/http ignores it and frames by Content-Length)"),
 ("47-te-space-colon", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "space before the colon of Transfer-Encoding"),
 ("48-te-vtab", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "vertical tab before chunked"),
 ("49-te-obs-fold", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", ["responses 400","app 0","closed"], "Transfer-Encoding value folded onto the next line"),
 ("50-obs-fold-space", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo: a\r\n b\r\n\r\n", ["log obs-fold","responses 400","app 0","closed"], "obs-fold: a header continued on a line starting with a space"),
 ("51-obs-fold-tab", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo: a\r\n\tb\r\n\r\n", ["responses 400","app 0","closed"], "obs-fold with a tab"),
 ("52-first-header-space", "GET /hello/ HTTP/1.1\r\n Host: x\r\n\r\n", ["responses 400","app 0","closed"], "the first header line starts with a space"),
 ("53-bare-lf", "GET /hello/ HTTP/1.1\nHost: x\n\n", ["log bare LF","responses 400","app 0","closed"], "bare LF line endings throughout"),
 ("54-bare-lf-end-of-headers", "GET /hello/ HTTP/1.1\r\nHost: x\r\n\n", ["responses 400","app 0","closed"], "header block ended by a bare LF"),
 ("55-bare-lf-request-line", "GET /hello/ HTTP/1.1\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "request line ended by a bare LF"),
 ("56-bare-cr-in-value", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo: a\rb\r\n\r\n", ["responses 400","app 0","closed"], "a bare CR inside a header value"),
 ("57-nul-in-value", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo: a\x00b\r\n\r\n", ["responses 400","app 0","closed"], "NUL inside a header value"),
 ("58-space-before-colon", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo : a\r\n\r\n", ["responses 400","app 0","closed"], "space between a header name and its colon"),
 ("59-nontoken-name", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX(Foo): a\r\n\r\n", ["responses 400","app 0","closed"], "a header name with a non-token character"),
 ("60-empty-name", "GET /hello/ HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", ["responses 400","app 0","closed"], "a header line with no name"),
 ("61-no-colon", "GET /hello/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", ["responses 400","app 0","closed"], "a header line without a colon"),
 ("62-nonascii-name", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-F\xc3\xa9e: a\r\n\r\n", ["responses 400","app 0","closed"], "non-ASCII bytes in a header name"),
 ("63-duplicate-host", "GET /hello/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", ["responses 400","app 0","closed"], "two Host headers (RFC 9112 3.2: 400)"),
 ("64-missing-host", "GET /hello/ HTTP/1.1\r\n\r\n", ["responses 400","app 0","closed"], "HTTP/1.1 without Host"),
 ("65-bad-host", "GET /hello/ HTTP/1.1\r\nHost: a b\r\n\r\n", ["responses 400","app 0","closed"], "a Host with a space"),
 ("70-nul-in-target", "GET /hello/\x00x HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "NUL in the request target"),
 ("71-cr-in-target", "GET /hel\rlo/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "CR in the request target"),
 ("72-lf-in-target", "GET /hel\nlo/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "LF in the request target"),
 ("73-encoded-nul-in-path", "GET /hello/%00x HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "%00 in the path"),
 ("74-bad-method", "G(T /hello/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "a method that is not a token"),
 ("75-nul-in-method", "GE\x00T /hello/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "NUL in the method"),
 ("76-bad-version", "GET /hello/ HTTP/1.1x\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "a version that is not HTTP/d.d"),
 ("77-lowercase-version", "GET /hello/ http/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "a lowercase version"),
 ("78-no-version", "GET /hello/\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "HTTP/0.9-style request line without a version"),
 ("79-version-2", "GET /hello/ HTTP/2.0\r\nHost: x\r\n\r\n", ["responses 505","app 0","closed"], "a well-formed version gowsgi does not speak: 505 HTTP Version Not Supported"),
 ("80-double-space", "GET  /hello/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "two spaces after the method"),
 ("81-tab-separator", "GET\t/hello/\tHTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "tabs between request line parts"),
 ("82-trailing-space", "GET /hello/ HTTP/1.1 \r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "a space after the version"),
 ("83-relative-path", "GET hello/ HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "a request target that is not an absolute path"),
 ("84-asterisk-get", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", ["responses 400","app 0","closed"], "the asterisk form with a method other than OPTIONS"),
 ("85-authority-form", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", ["responses 400","app 0","closed"], "the authority form (CONNECT): gowsgi is not a proxy"),
 ("86-empty-request-line", "\r\n\r\n", ["responses 400","app 0","closed"], "an empty request line"),
 ("87-smuggle-in-header-value", "GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Foo: a\r\n\rGET /hello/?smuggled HTTP/1.1\r\n\r\n", ["responses 400","app 0","closed"], "a bare CR at the start of a line, as if it ended the header block"),
 ("88-chunked-trailer-bare-lf", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n", ["responses 400","app 0","closed"], "a trailer line ended by a bare LF"),
 ("89-pipelined-bad-second", "GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/?smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ["responses 200 400","app 1","closed"], "a good request, then a smuggling attempt on the same connection: the first is served, the second refused"),
 ("90-trailer-content-length", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 49\r\n\r\n"+S, ["log refused a request from .*: Content-Length in the trailer of a chunked body .*; answered 400","responses 400","app 0","closed"], "Content-Length in a trailer (RFC 9110 6.5.1): a peer that merges trailers would frame the body again"),
 ("91-trailer-transfer-encoding", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ntransfer-encoding: chunked\r\n\r\n"+S, ["log Transfer-Encoding in the trailer of a chunked body","responses 400","app 0","closed"], "Transfer-Encoding in a trailer, lower-case"),
 ("92-trailer-host", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Ok: 1\r\nHost: admin.internal\r\n\r\n", ["log Host in the trailer of a chunked body","responses 400","app 0","closed"], "Host in a trailer, after an allowed trailer field: a peer that merges trailers would route the request again"),
 ("93-trailer-trailer", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: Content-Length\r\n\r\n", ["log Trailer in the trailer of a chunked body","responses 400","app 0","closed"], "Trailer in a trailer"),
 ("94-te-deflate", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate\r\n\r\nhello", ["log Transfer-Encoding: deflate\\); answered 501","responses 501","app 0","closed"], "deflate: a coding gowsgi does not implement (501)"),
 ("95-te-identity", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Type: text/plain\r\n\r\nhello", ["log answered 501","responses 501","app 0","closed"], "identity (no longer a registered coding): 501"),
 ("96-te-gzip-then-cl", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello", ["log both Transfer-Encoding and Content-Length .*; answered 400","responses 400","app 0","closed"], "an unimplemented coding, then Content-Length: the smuggling shape wins (400, not 501)"),
 ("97-te-gzip-then-te", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ["log Transfer-Encoding appears twice; answered 400","responses 400","app 0","closed"], "Transfer-Encoding twice, the first an unimplemented coding: 400, not 501"),
 ("98-te-chunked-twice", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", ["log chunked is not the last transfer coding","responses 400","app 0","closed"], "chunked applied twice (RFC 9112 6.1: a sender must not)"),
 ("99-te-empty-element", "POST /echo/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n0\r\n\r\n", ["log not a list of transfer codings","responses 400","app 0","closed"], "an empty element in the Transfer-Encoding list: malformed (the guard reads only what net/http reads)"),
]



def kv(*pairs):
    b = b""
    for k, v in pairs:
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        b += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return b

def pkt(vars_, mod1=0, mod2=0, size=None):
    n = len(vars_) if size is None else size
    return struct.pack("<BHB", mod1, n, mod2) + vars_

def base(method="GET", path="/hello/", extra=()):
    return (("REQUEST_METHOD", method), ("REQUEST_URI", path), ("PATH_INFO", path), ("QUERY_STRING", ""),
            ("SERVER_PROTOCOL", "HTTP/1.1"), ("SERVER_NAME", "x"), ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "10.0.0.7"), ("REMOTE_PORT", "4242"), ("HTTP_HOST", "x")) + tuple(extra)

good = kv(*base())

UWSGI = [
 ("00-control-get", pkt(good), ["responses 200", "app 1"], "control: a GET as nginx sends it"),
 ("01-control-post", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "5"), ("CONTENT_TYPE", "text/plain")]))) + b"hello", ["responses 200", "app 1", "body-length 5"], "control: a body of CONTENT_LENGTH bytes after the packet"),
 ("02-control-second-packet-ignored", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "5")]))) + b"hello" + pkt(good), ["responses 200", "app 1", "body-length 5"], "one request per connection: a second packet after the body is never served"),
 ("03-control-transfer-encoding-dropped", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "5"), ("HTTP_TRANSFER_ENCODING", "chunked")]))) + b"hello", ["responses 200", "app 1", "body-length 5"], "nginx de-chunks: HTTP_TRANSFER_ENCODING is hop-by-hop and framing is CONTENT_LENGTH only"),
 ("10-datasize-over-buffer", pkt(b"\x00" * 5000), ["unanswered", "app 0", "log invalid request block size: 5000 \\(max 4096\\)"], "datasize larger than buffer-size: refused from the header alone"),
 ("11-datasize-max", pkt(b"", size=65535), ["unanswered", "app 0", "log invalid request block size: 65535"], "the largest datasize, with no vars behind it"),
 ("12-vars-truncated", pkt(good[:40], size=len(good)), ["unanswered", "app 0", "half-close"], "fewer vars bytes than datasize, then the peer stops sending"),
 ("13-header-truncated", b"\x00\x10", ["unanswered", "app 0", "half-close"], "half a packet header"),
 ("14-key-size-past-datasize", pkt(good + struct.pack("<H", 500) + b"KEY"), ["responses 400", "app 0", "log key size 500 at offset \\d+ runs past the end"], "a key size that runs past the vars block"),
 ("15-value-size-past-datasize", pkt(good + struct.pack("<H", 3) + b"KEY" + struct.pack("<H", 900) + b"v"), ["responses 400", "app 0", "log KEY size 900 at offset \\d+ runs past the end"], "a value size that runs past the vars block"),
 ("16-odd-trailing-byte", pkt(good + b"\x01"), ["responses 400", "app 0", "log 1 byte\\(s\\) left, want 2"], "one stray byte after the last var"),
 ("17-empty-key", pkt(good + kv(("", "x"))), ["responses 400", "app 0", "log has an empty key"], "a var with an empty key"),
 ("18-nul-in-key", pkt(good + kv(("HTTP_X\x00Y", "1"))), ["responses 400", "app 0", "log has a NUL byte"], "NUL in a key"),
 ("19-nul-in-value", pkt(kv(*base(path="/hello/\x00x"))), ["responses 400", "app 0", "log has a NUL byte"], "NUL in a value (PATH_INFO)"),
 ("20-duplicate-var", pkt(good + kv(("REQUEST_METHOD", "POST"))), ["responses 400", "app 0", "log \"REQUEST_METHOD\" appears twice"], "a CGI var twice: which one would the app see?"),
 ("22-content-type-twice", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "5"), ("CONTENT_TYPE", "text/plain"), ("CONTENT_TYPE", "text/plain")]))) + b"hello", ["responses 400", "app 0", "log \"CONTENT_TYPE\" appears twice"], "CONTENT_TYPE twice, as on the HTTP listener (nginx sends one; the duplicate-var rule covers it)"),
 ("21-no-request-method", pkt(kv(("PATH_INFO", "/hello/"))), ["responses 400", "app 0"], "no REQUEST_METHOD"),
 ("30-content-length-negative", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "-1")]))) + b"hello", ["responses 400", "app 0"], "negative CONTENT_LENGTH"),
 ("31-content-length-garbage", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "5x")]))) + b"hello", ["responses 400", "app 0"], "CONTENT_LENGTH that is not a number"),
 ("32-content-length-plus", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "+5")]))) + b"hello", ["responses 400", "app 0"], "CONTENT_LENGTH with a sign"),
 ("33-content-length-space", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", " 5")]))) + b"hello", ["responses 400", "app 0"], "CONTENT_LENGTH with a space"),
 ("34-content-length-overflow", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "99999999999999999999")]))) + b"hello", ["responses 400", "app 0"], "CONTENT_LENGTH past int64"),
 ("35-content-length-over-limit-post", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "1000000000000")]))) + b"hello", ["responses 413", "app 0"], "CONTENT_LENGTH over limit-post: 413 before any of the body is read"),
 ("36-body-shorter-then-close", pkt(kv(*base("POST", "/echo/", [("CONTENT_LENGTH", "10")]))) + b"short", ["unanswered", "app 0", "half-close"], "a body shorter than CONTENT_LENGTH, then the peer stops sending: the app never sees it"),
 ("37-too-many-headers", pkt(kv(*base(extra=[("HTTP_X_H%d" % i, "v") for i in range(150)]))), ["responses 431", "app 0"], "more than 100 request headers"),
 ("40-modifier1-30", pkt(good, mod1=30), ["unanswered", "app 0", "log unavailable modifier requested: modifier1 30"], "modifier1 30 (uWSGI's PATH_INFO fix-up): not WSGI"),
 ("41-modifier1-255", pkt(good, mod1=255), ["unanswered", "app 0", "log unavailable modifier requested: modifier1 255"], "modifier1 255"),
 ("42-http-on-uwsgi-socket", b"GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n", ["unanswered", "app 0", "log invalid request block size: 21573"], "an HTTP request sent to the uwsgi socket: read as a packet header, it is too large"),
]


def write(sub, ext, cases):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    for name, raw, exp, comment in cases:
        if isinstance(raw, str):
            raw = raw.encode("latin-1")
        with open(os.path.join(d, name + ext), "wb") as f:
            f.write(raw)
        with open(os.path.join(d, name + ".expect"), "w") as f:
            f.write("# " + comment + "\n" + "\n".join(exp) + "\n")


write("http", ".req", HTTP)
write("uwsgi", ".pkt", UWSGI)
