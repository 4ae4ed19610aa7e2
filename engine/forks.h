// The worker's forks, as the engine's close needs to know them: see forks.c.
#ifndef GOWSGI_FORKS_H
#define GOWSGI_FORKS_H

int gowsgi_watch_forks(void);
int *gowsgi_fork_flag(void);
int *gowsgi_fork_closing(void);

#endif
