// Package reload watches a project tree for gowsgi's dev mode and says,
// after each burst of saves, which files changed and whether that needs new
// Python workers, fresh templates or only a browser refresh.
//
// # Model
//
// One goroutine owns an inotify watch on every directory of the tree (the
// default excludes, such as .git, node_modules and virtualenvs, are not
// watched at all) and one debounce timer that every relevant event pushes
// back; when the tree has been quiet for Options.Debounce (100ms) the
// changed paths go out as one Batch whose Kind (see Classify) is the most
// demanding of its files. Directories that appear are watched and then
// listed, so files written before their watch existed are still reported;
// editors' temporary names are filtered out, so a save through a rename
// reports the real file.
//
// Single files outside the tree (uWSGI's touch-reload) are watched through
// their directory, by name, so replacing one by rename keeps working.
//
// # inotify limits
//
// Linux counts inotify resources per user, over every program the user
// runs (editors, language servers, other dev servers, Dropbox):
//
//   - fs.inotify.max_user_watches: one watch per watched directory. Often
//     8192 on older systems; a tree with a vendored node_modules can need
//     more. Adding a watch past it fails with ENOSPC, which New and Errors
//     report as ErrWatchLimit.
//   - fs.inotify.max_user_instances: one instance per Watcher (per
//     program, mostly). Often 128. Past it, creating a Watcher fails with
//     EMFILE, reported as ErrInstanceLimit.
//   - fs.inotify.max_queued_events: events the kernel holds until they are
//     read, 16384 by default. Past it events are dropped and the queue
//     reports an overflow; the Watcher then rescans the tree and sends a
//     KindCode batch with Rescan set, since it cannot know what changed.
//
// (On macOS and the BSDs fsnotify uses kqueue instead, which holds an open
// file descriptor per watched file; there the limit is ulimit -n.)
//
// The current values are in /proc/sys/fs/inotify/. To raise them until the
// next boot:
//
//	sudo sysctl fs.inotify.max_user_watches=524288
//	sudo sysctl fs.inotify.max_user_instances=512
//
// and to keep them, put the same settings in a file such as
// /etc/sysctl.d/90-inotify.conf:
//
//	fs.inotify.max_user_watches=524288
//	fs.inotify.max_user_instances=512
//
// # Troubleshooting
//
// Hint gives the next action for each of these.
//
//	gowsgi: watching /home/me/mysite/frontend/src: inotify watch limit reached (fs.inotify.max_user_watches = 8192)
//
// The kernel refused one more watch. Raise the limit as above, or exclude
// the big directories that need not trigger reloads (--exclude
// 'frontend/**'). Directories already watched stay watched.
//
//	gowsgi: creating inotify instance: inotify instance limit reached (fs.inotify.max_user_instances = 128)
//
// Too many programs of this user watch files. Raise max_user_instances or
// stop some of them. The same EMFILE also means the process is out of file
// descriptors (ulimit -n).
//
//	gowsgi: watching /home/me/mysite: inotify event queue overflowed (fs.inotify.max_queued_events = 16384)
//
// Changes came faster than they were read (a huge checkout, an unzip in
// the tree). The tree was rescanned and the app reloaded; nothing to do
// unless it happens often.
//
//	gowsgi: watching /home/me/mysite/pgdata: permission denied
//
// A directory in the tree (often a database volume owned by another user)
// cannot be watched; changes in it are not seen. Exclude it.
//
//	gowsgi: watching /home/me/mysite: project directory was removed or moved away
//
// Nothing is watched any more; start gowsgi dev again in the directory.
//
// A save is not noticed: check that the file is not excluded (a media
// directory without __init__.py, a directory holding pyvenv.cfg, any
// Options.Exclude glob), that it is not reached through a symlinked
// directory (symlinks are not followed), and that the file system sends
// inotify events at all (network mounts and some container bind mounts
// from macOS or Windows hosts do not).
//
// Every request reloads the app: something the app writes is watched. The
// dev database (*.sqlite3) and *.log are excluded by default; exclude
// whatever else it writes (uploads, caches) with --exclude.
package reload
