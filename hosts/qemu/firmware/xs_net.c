/*
 * TCP for JavaScript: XS host functions over the firmware's network stack (hosts/qemu/net/net.h,
 * lwIP + virtio-net), installed as globalThis.nativeNet; hosts/qemu/socket.ts adapts them to the SSH
 * core's ConnectionHost.
 *
 *   nativeNet.listen(port, handlers) -> true   brings the network up (once) and listens; handlers:
 *       accept(id, address, port)   a new connection (address "10.0.2.2" under QEMU user networking)
 *       readable(id, available)     bytes wait: read them with read()
 *       writable(id, space)         write() would take `space` bytes again
 *       ended(id)                   the peer sent FIN (everything before it has been offered)
 *       error(id, code)             reset/aborted: the connection is gone (lwIP's err_t, negative)
 *   nativeNet.read(id, buffer) -> n        copies up to buffer.byteLength waiting bytes (any buffer
 *                                          or view); the peer's window re-opens by n
 *   nativeNet.write(id, view) -> n         takes at most what fits lwIP's send buffer (0: full, wait
 *                                          for writable); -1 when the connection is gone
 *   nativeNet.writable(id) -> n            free send-buffer space now
 *   nativeNet.close(id), nativeNet.abort(id)   FIN after queued data / RST; no handler runs after
 *   nativeNet.stats() -> {...}             lwIP heap and pbuf pool use, frames, connections
 *
 * Handlers run from the event loop's poller (net_poll), one at a time, each under its own XS try
 * frame: an exception a handler lets out is reported on the log and aborts that connection, the
 * server keeps serving the others. Buffer pointers are fetched after every other argument is
 * converted (a valueOf could allocate and move them) and nothing allocates while they are held.
 */
#include <stdio.h>
#include <string.h>

#include "xsmc.h"
#include "board.h"
#include "net.h"
#include "xs_engine.h"

typedef struct {
	net_conn* conn; /* NULL: free */
	int32_t id;
} Socket;

static Socket sockets[NET_MAX_CONNS];
static int32_t next_id = 1;
static xsSlot handlers;
static int listening;
static xsMachine* net_machine;

static Socket* find_socket(int32_t id)
{
	for (int i = 0; i < NET_MAX_CONNS; i++)
		if (sockets[i].conn && sockets[i].id == id)
			return &sockets[i];
	return NULL;
}

/* Calls handlers[name](id, a, b) with `argc` numeric arguments after the id. Returns 0 when the
 * handler threw (reported on the log). */
static int call_handler(const char* name, int32_t id, int argc, xsIntegerValue a, xsIntegerValue b)
{
	xsMachine* the = net_machine;
	int ok = 1;
	xsBeginHost(the);
	{
		xsmcVars(4);
		xsTry {
			xsmcSetInteger(xsVar(1), id);
			xsmcSetInteger(xsVar(2), a);
			xsmcSetInteger(xsVar(3), b);
			xsVar(0) = handlers;
			if (argc == 0)
				xsmcCall_noResult(xsVar(0), xsID(name), &xsVar(1), NULL);
			else if (argc == 1)
				xsmcCall_noResult(xsVar(0), xsID(name), &xsVar(1), &xsVar(2), NULL);
			else
				xsmcCall_noResult(xsVar(0), xsID(name), &xsVar(1), &xsVar(2), &xsVar(3), NULL);
		}
		xsCatch {
			engine_report_exception(the, &xsException, "exception in a network handler");
			ok = 0;
		}
	}
	xsEndHost(the);
	return ok;
}

static void drop(Socket* s, int abort)
{
	net_conn* c = s->conn;
	s->conn = NULL;
	if (c) {
		if (abort)
			net_conn_abort(c);
		else
			net_conn_close(c);
	}
}

static void on_readable(net_conn* c, void* ctx, size_t available)
{
	Socket* s = ctx;
	int32_t id = s->id;
	if (!call_handler("readable", id, 1, (xsIntegerValue)available, 0) && s->conn == c && s->id == id)
		drop(s, 1);
}

static void on_writable(net_conn* c, void* ctx, size_t space)
{
	Socket* s = ctx;
	int32_t id = s->id;
	if (!call_handler("writable", id, 1, (xsIntegerValue)space, 0) && s->conn == c && s->id == id)
		drop(s, 1);
}

static void on_ended(net_conn* c, void* ctx)
{
	Socket* s = ctx;
	int32_t id = s->id;
	if (!call_handler("ended", id, 0, 0, 0) && s->conn == c && s->id == id)
		drop(s, 1);
}

static void on_error(net_conn* c, void* ctx, int err)
{
	Socket* s = ctx;
	int32_t id = s->id;
	s->conn = NULL; /* net.c frees the connection when this returns */
	call_handler("error", id, 1, err, 0);
}

static const net_conn_callbacks socket_callbacks = { on_readable, on_writable, on_ended, on_error };

static void on_accept(net_listener* l, net_conn* c, void* ctx)
{
	(void)l;
	(void)ctx;
	Socket* s = NULL;
	for (int i = 0; i < NET_MAX_CONNS; i++)
		if (!sockets[i].conn) {
			s = &sockets[i];
			break;
		}
	if (!s) { /* cannot happen: net.c has as many slots as we do */
		net_conn_abort(c);
		return;
	}
	s->conn = c;
	s->id = next_id++;
	if (next_id <= 0)
		next_id = 1;
	net_conn_set_callbacks(c, &socket_callbacks, s);
	uint32_t ip;
	uint16_t port;
	net_conn_remote(c, &ip, &port);
	xsMachine* the = net_machine;
	int ok = 1;
	int32_t id = s->id;
	xsBeginHost(the);
	{
		xsmcVars(4);
		xsTry {
			char address[16];
			snprintf(address, sizeof(address), "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16 & 255),
			         (unsigned)(ip >> 8 & 255), (unsigned)(ip & 255));
			xsmcSetInteger(xsVar(1), id);
			xsmcSetString(xsVar(2), address);
			xsmcSetInteger(xsVar(3), port);
			xsVar(0) = handlers;
			xsmcCall_noResult(xsVar(0), xsID("accept"), &xsVar(1), &xsVar(2), &xsVar(3), NULL);
		}
		xsCatch {
			engine_report_exception(the, &xsException, "exception in the accept handler");
			ok = 0;
		}
	}
	xsEndHost(the);
	if (!ok && s->conn == c && s->id == id)
		drop(s, 1);
}

static int net_poller(void* context)
{
	(void)context;
	return net_poll() > 0;
}

/* listen(port, handlers) */
static void xs_net_listen(xsMachine* the)
{
	if (xsmcArgc < 2)
		xsTypeError("listen(port, handlers)");
	int port = xsmcToInteger(xsArg(0));
	if (port <= 0 || port > 65535)
		xsRangeError("bad port %d", port);
	if (listening)
		xsUnknownError("already listening");
	if (!net_machine) {
		int err = net_init(&NET_CONFIG_QEMU_USER);
		if (err != NET_OK)
			xsUnknownError("no network device (virtio-net) or lwIP failed to start: %d", err);
		net_machine = the;
		handlers = xsArg(1);
		xsRemember(handlers);
		if (platform_add_poller(net_poller, NULL) != 0)
			xsUnknownError("no poller slot for the network");
	}
	if (!net_listen((uint16_t)port, 2, on_accept, NULL))
		xsUnknownError("cannot listen on port %d", port);
	listening = 1;
	xsmcSetBoolean(xsResult, 1);
}

static Socket* arg_socket(xsMachine* the)
{
	if (xsmcArgc < 1)
		xsTypeError("connection id expected");
	return find_socket(xsmcToInteger(xsArg(0)));
}

/* read(id, buffer) -> n */
static void xs_net_read(xsMachine* the)
{
	Socket* s = arg_socket(the);
	if (xsmcArgc < 2)
		xsTypeError("read(id, buffer)");
	if (!s) {
		xsmcSetInteger(xsResult, -1);
		return;
	}
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(1), &data, &length);
	xsmcSetInteger(xsResult, (xsIntegerValue)net_conn_read(s->conn, data, length));
}

/* write(id, view) -> n, -1 when gone */
static void xs_net_write(xsMachine* the)
{
	Socket* s = arg_socket(the);
	if (xsmcArgc < 2)
		xsTypeError("write(id, view)");
	if (!s) {
		xsmcSetInteger(xsResult, -1);
		return;
	}
	void* data;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(1), &data, &length);
	int n = net_conn_write(s->conn, data, length);
	xsmcSetInteger(xsResult, n < 0 ? -1 : n);
}

static void xs_net_writable(xsMachine* the)
{
	Socket* s = arg_socket(the);
	xsmcSetInteger(xsResult, s ? (xsIntegerValue)net_conn_writable(s->conn) : -1);
}

static void xs_net_close(xsMachine* the)
{
	Socket* s = arg_socket(the);
	if (s)
		drop(s, 0);
}

static void xs_net_abort(xsMachine* the)
{
	Socket* s = arg_socket(the);
	if (s)
		drop(s, 1);
}

static void set_number(xsMachine* the, const char* name, double value)
{
	xsmcSetNumber(xsVar(1), value);
	xsmcSet(xsVar(0), xsID(name), xsVar(1));
}

static void xs_net_stats(xsMachine* the)
{
	net_stats st;
	net_get_stats(&st);
	xsmcVars(2);
	xsmcSetNewObject(xsVar(0));
	set_number(the, "rxFrames", st.rx_frames);
	set_number(the, "txFrames", st.tx_frames);
	set_number(the, "rxDropped", st.rx_dropped);
	set_number(the, "txDropped", st.tx_dropped);
	set_number(the, "connsOpen", st.conns_open);
	set_number(the, "connsTotal", st.conns_total);
	set_number(the, "connsRefused", st.conns_refused);
	set_number(the, "memUsed", st.mem_used);
	set_number(the, "memMax", st.mem_max);
	set_number(the, "memSize", st.mem_size);
	set_number(the, "poolUsed", st.pool_used);
	set_number(the, "poolMax", st.pool_max);
	set_number(the, "poolSize", st.pool_size);
	set_number(the, "maxConnections", NET_MAX_CONNS);
	xsResult = xsVar(0);
}

/* lwIP's own randomness (initial sequence numbers, local ports) from the board's DRBG. */
uint32_t net_random(void)
{
	uint32_t v;
	native_random(&v, sizeof(v));
	return v;
}

void xs_net_install(xsMachine* the, xsSlot* target)
{
	static const struct {
		const char* name;
		xsCallback callback;
		int length;
	} functions[] = {
		{ "listen", xs_net_listen, 2 }, { "read", xs_net_read, 2 },   { "write", xs_net_write, 2 },
		{ "writable", xs_net_writable, 1 }, { "close", xs_net_close, 1 }, { "abort", xs_net_abort, 1 },
		{ "stats", xs_net_stats, 0 },
	};
	xsmcVars(1);
	for (unsigned i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		xsVar(0) = xsNewHostFunction(functions[i].callback, functions[i].length);
		xsmcSet(*target, xsID(functions[i].name), xsVar(0));
	}
}
