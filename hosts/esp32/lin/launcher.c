/* Linux-only: runs a Moddable SDK Linux build (mcconfig -p lin makes mc.so, which the SDK's GTK
 * simulator mcsim loads) without a window: dlopen(mc.so), fxScreenLaunch() with a screen that has no
 * pixels, and GLib's main loop, which the SDK's Linux timers, sockets and promise jobs run on.
 * Built by hosts/esp32/lin/check.ts against the SDK's build/simulators/modules/screen.h.
 *
 *   esp-ssh-console-lin <path to mc.so>
 *
 * It also carries the host libraries the crypto hooks link against (libsodium, and Mbed TLS 3.6's
 * libmbedcrypto, built from Debian 13's sources), exported to mc.so with -rdynamic. SIGUSR1 (or a
 * line "heap" on stdin) prints the XS heap figures (essh_lin_heap_report, lin_host.c). SIGTERM and
 * SIGINT end the process. */

#include <dlfcn.h>
#include <fcntl.h>
#include <glib.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "screen.h"

static GMainLoop *loop;
static guint idleSource;
static void (*heapReport)(void *machine);
static txScreen *screen;

static void screenAbort(txScreen *s, int status)
{
	(void)s;
	fprintf(stderr, "lin: XS aborted (status %d)\n", status);
	fflush(stdout);
	_exit(100 + status);
}

static gboolean screenIdleTick(gpointer data)
{
	txScreen *s = data;
	if (s->idle)
		s->idle(s);
	return G_SOURCE_CONTINUE;
}

static void screenStart(txScreen *s, double interval)
{
	if (idleSource)
		g_source_remove(idleSource);
	idleSource = g_timeout_add(interval < 1 ? 1 : (guint)interval, screenIdleTick, s);
}

static void screenStop(txScreen *s)
{
	(void)s;
	if (idleSource)
		g_source_remove(idleSource);
	idleSource = 0;
}

static void screenNothing(txScreen *s)
{
	(void)s;
}

static void screenPost(txScreen *s, char *buffer, int size)
{
	(void)s;
	(void)buffer;
	(void)size;
}

static gboolean onReport(gpointer data)
{
	(void)data;
	if (heapReport && screen->machine)
		heapReport(screen->machine);
	return G_SOURCE_CONTINUE;
}

static gboolean onStdin(gint fd, GIOCondition condition, gpointer data)
{
	char line[64];
	ssize_t n = read(fd, line, sizeof line - 1);
	(void)condition;
	(void)data;
	if (n <= 0)
		return G_SOURCE_REMOVE; /* stdin closed: keep running */
	line[n] = 0;
	if (strstr(line, "heap"))
		onReport(NULL);
	if (strstr(line, "quit"))
		g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static gboolean onQuit(gpointer data)
{
	(void)data;
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	void *library;
	txScreenLaunchProc launch;
	int fd;
	if (argc != 2) {
		fprintf(stderr, "usage: %s <mc.so>\n", argv[0]);
		return 2;
	}
	/* The SDK's Linux sockets take descriptor 0 for "none" (modules/io/socket/lin/tcp.c: accept()
	 * returning 0 is dropped, a TCP with skt 0 is "not connected"): keep 0, 1 and 2 taken, so no
	 * socket is ever given descriptor 0. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 3)
		;
	if (fd >= 3)
		close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	library = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!library) {
		fprintf(stderr, "lin: %s\n", dlerror());
		return 1;
	}
	launch = (txScreenLaunchProc)dlsym(library, "fxScreenLaunch");
	heapReport = (void (*)(void *))dlsym(library, "essh_lin_heap_report");
	if (!launch) {
		fprintf(stderr, "lin: %s\n", dlerror());
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	/* A screen with no pixels: nothing here draws. */
	screen = calloc(1, sizeof(txScreen) + 4);
	screen->width = 1;
	screen->height = 1;
	screen->abort = screenAbort;
	screen->bufferChanged = screenNothing;
	screen->formatChanged = screenNothing;
	screen->post = screenPost;
	screen->start = screenStart;
	screen->stop = screenStop;
	mxCreateMutex(&screen->workersMutex);
	g_unix_signal_add(SIGUSR1, onReport, NULL);
	g_unix_signal_add(SIGTERM, onQuit, NULL);
	g_unix_signal_add(SIGINT, onQuit, NULL);
	g_unix_fd_add(0, G_IO_IN | G_IO_HUP, onStdin, NULL);
	launch(screen);
	if (!screen->machine) {
		fprintf(stderr, "lin: the XS machine was not created\n");
		return 1;
	}
	g_main_loop_run(loop);
	if (screen->quit)
		screen->quit(screen);
	return 0;
}
