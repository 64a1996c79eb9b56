/*
 * http: see http.h.
 *
 * libfcgi's fcgiapp layer is used directly (not fcgi_stdio), so the CGI
 * fallback is ours: in CGI mode "params" are the environment and the
 * streams are fds 0 and 1.  Deadlines: in CGI mode stdin is polled; in
 * FastCGI mode the connection socket gets SO_RCVTIMEO, so a web server
 * that streams a dribbling client's body to us cannot pin a worker.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http.h"
#include "log.h"
#include "num.h"

struct http_req {
	FCGX_Request *fcgx;	/* NULL in CGI mode */
	long read_timeout_s;
	bool answered;
	bool input_done;	/* the request body was read to its end */
};

static bool fastcgi_mode;

bool
http_is_fastcgi(void)
{
	return fastcgi_mode;
}

bool
http_fastcgi_socket(void)
{
	return !FCGX_IsCGI();
}

const char *
http_param(struct http_req *req, const char *name)
{
	if (req->fcgx != NULL)
		return FCGX_GetParam(name, req->fcgx->envp);
	return getenv(name);
}

const char *
http_method(struct http_req *req)
{
	const char *m = http_param(req, "REQUEST_METHOD");

	return m != NULL ? m : "GET";
}

const char *
http_path(struct http_req *req)
{
	const char *p = http_param(req, "PATH_INFO");

	return p != NULL ? p : "";
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* Milliseconds until deadline (negative once passed). */
static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void
set_socket_deadline_ms(int fd, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	/* Best effort: without it the web server's own timeout applies. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * FastCGI: FCGX_GetStr keeps reading the socket until n bytes are in, and
 * every arriving byte re-arms SO_RCVTIMEO, so a client dribbling one byte
 * a second would never meet a deadline.  Take what the stream buffer
 * already holds; when it is empty, ask for one byte with the socket's
 * timeout set to what is left of the whole body's deadline, so each
 * socket read is bounded by the remaining time, not by a fresh timeout.
 */
static long
read_some_fcgi(struct http_req *req, char *p, size_t n,
    const struct timespec *deadline)
{
	FCGX_Stream *in = req->fcgx->in;
	size_t avail = (size_t)(in->stop - in->rdNext);
	long ms = ms_left(deadline);
	int got;

	if (ms <= 0)
		return -2;
	if (avail == 0) {
		set_socket_deadline_ms(req->fcgx->ipcFd, ms);
		n = 1;
	} else if (n > avail)
		n = avail;
	got = FCGX_GetStr(p, (int)n, in);
	if (got == 0 && FCGX_GetError(in) != 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
	return got;
}

/* Read up to n bytes; 0 at end of body, -1 on error, -2 on deadline. */
static long
read_some(struct http_req *req, char *p, size_t n, const struct timespec *deadline)
{
	if (req->fcgx != NULL)
		return read_some_fcgi(req, p, n, deadline);
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		long ms = ms_left(deadline);
		ssize_t got;

		if (ms <= 0 || poll(&pfd, 1, (int)ms) == 0)
			return -2;
		got = read(STDIN_FILENO, p, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got;
	}
}

enum http_error
http_read_body(struct http_req *req, size_t max, struct buf *out)
{
	const char *cl = http_param(req, "CONTENT_LENGTH");
	long declared = -1;
	struct timespec deadline;
	char chunk[16384];

	if (cl != NULL && *cl != '\0') {
		size_t digits = strspn(cl, "0123456789");
		if (digits == 0 || cl[digits] != '\0')
			return HTTP_ERR_BAD_LENGTH;
		/* A well-formed length too big to parse is simply too large. */
		if (digits > 18 || num_parse_long(cl, 0, 0x7fffffffffffffffL, &declared) < 0)
			return HTTP_ERR_TOO_LARGE;
	}
	if (declared > (long)max)
		return HTTP_ERR_TOO_LARGE;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += req->read_timeout_s;
	buf_reset(out);
	out->max = max + 1;	/* one byte more tells "larger than max" */
	for (;;) {
		/* CGI: never read past CONTENT_LENGTH (RFC 3875 4.2). */
		size_t want = req->fcgx == NULL && declared >= 0 &&
		    (size_t)declared - out->len < sizeof(chunk) ?
		    (size_t)declared - out->len : sizeof(chunk);
		long got = want == 0 ? 0 : read_some(req, chunk, want, &deadline);

		if (got == 0) {
			req->input_done = true;
			break;
		}
		if (got == -2)
			return HTTP_ERR_TIMEOUT;
		if (got < 0)
			return HTTP_ERR_BAD_REQUEST;
		if (out->len + (size_t)got > max)
			return HTTP_ERR_TOO_LARGE;
		if (declared >= 0 && out->len + (size_t)got > (size_t)declared)
			return HTTP_ERR_BAD_LENGTH;
		if (buf_append(out, chunk, (size_t)got) < 0)
			return HTTP_ERR_BAD_REQUEST;
		/*
		 * In CGI mode stop at the declared length: a web server may
		 * keep stdin open, and CGI says not to read past it.
		 */
		if (req->fcgx == NULL && declared >= 0 &&
		    out->len == (size_t)declared)
			break;
	}
	if (declared >= 0 && out->len != (size_t)declared)
		return HTTP_ERR_BAD_LENGTH;
	if (out->data == NULL && buf_append(out, "", 0) < 0)
		return HTTP_ERR_BAD_REQUEST;
	return HTTP_ERR_NONE;
}

static void
write_all(struct http_req *req, const char *p, size_t n)
{
	if (req->fcgx != NULL) {
		FCGX_PutStr(p, (int)n, req->fcgx->out);
		return;
	}
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Headers that did not fit: logged, and a bare 500 instead. */
static void
send_headers_cut(struct http_req *req, size_t size)
{
	static const char bare[] = "Status: 500 Internal Server Error\r\n"
	    "Content-Length: 0\r\n\r\n";

	log_error("response headers do not fit in %zu bytes: answered 500",
	    size);
	write_all(req, bare, sizeof(bare) - 1);
}

void
http_send(struct http_req *req, int status, const char *content_type,
    const char *extra, const char *body, size_t len)
{
	/* Status, Content-Type and Content-Length take < 256 bytes. */
	char head[HTTP_EXTRA_MAX + 256];
	int n;

	if (req->answered)
		return;
	req->answered = true;
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n%s%s%sContent-Length: %zu\r\n%s\r\n",
	    status, http_status_text(status),
	    content_type ? "Content-Type: " : "", content_type ? content_type : "",
	    content_type ? "\r\n" : "", body ? len : 0, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		send_headers_cut(req, sizeof(head));
		return;
	}
	write_all(req, head, (size_t)n);
	/* HEAD: the same headers, Content-Length included, and no body. */
	if (body != NULL && len > 0 && strcmp(http_method(req), "HEAD") != 0)
		write_all(req, body, len);
}

void
http_head_add(struct http_head *h, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (h->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->s + h->len, sizeof(h->s) - h->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(h->s) - h->len) {
		h->cut = true;
		h->s[h->len] = '\0';	/* what fitted before stays whole */
	} else
		h->len += (size_t)n;
}

void
http_send_head(struct http_req *req, int status, const char *content_type,
    const struct http_head *h, const char *body, size_t len)
{
	if (!h->cut) {
		http_send(req, status, content_type, h->s, body, len);
		return;
	}
	log_error("answer headers do not fit in %zu bytes: answered 500",
	    sizeof(h->s));
	http_send_error(req, HTTP_ERR_INTERNAL, NULL, NULL);
}

const char *
http_json_string(json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

void
http_send_json(struct http_req *req, int status, const char *extra,
    json_object *obj)
{
	size_t len = 0;
	const char *s = http_json_string(obj, &len);

	http_send(req, status, "application/json", extra, s, len);
	json_object_put(obj);
}

void
http_send_error(struct http_req *req, enum http_error e, const char *message,
    const char *extra)
{
	struct http_head h = { .len = 0 };
	json_object *o = json_object_new_object();
	int retry = http_error_retry_after(e);
	const char *s;
	size_t len = 0;

	http_head_add(&h, "%s", extra != NULL ? extra : "");
	if (retry > 0)
		http_head_add(&h, "Retry-After: %d\r\n", retry);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error",
	    json_object_new_string(http_error_code(e)));
	json_object_object_add(o, "message", json_object_new_string(
	    message != NULL ? message : http_error_message(e)));
	s = http_json_string(o, &len);
	http_send_head(req, http_error_status(e), "application/json", &h, s,
	    len);
	json_object_put(o);
}


/*
 * Read and drop the rest of the input until its end, the deadline or
 * *left more bytes; true when it stopped at one of those bounds (not at
 * an error).
 */
static bool
drain(struct http_req *req, const struct timespec *deadline, size_t *left)
{
	char sink[16384];

	while (!req->input_done && *left > 0) {
		long got = read_some_fcgi(req, sink, sizeof(sink) < *left ? sizeof(sink) : *left,
		    deadline);
		if (got <= 0) {
			req->input_done = got == 0 && FCGX_GetError(req->fcgx->in) == 0;
			return req->input_done || got == -2;
		}
		*left -= (size_t)got;
	}
	return true;
}

/* A GET or HEAD without a body: only the end-of-input record is to come. */
static bool
bodiless(struct http_req *req)
{
	const char *cl = http_param(req, "CONTENT_LENGTH");
	const char *m = http_method(req);

	return (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) &&
	    (cl == NULL || strcmp(cl, "") == 0 || strcmp(cl, "0") == 0);
}

/*
 * After the answer, libfcgi's close shuts down its write side and waits
 * (2 s per read, for as long as bytes keep coming) for the web server to
 * close first, so that unread input cannot turn into a TCP reset that
 * destroys the answer.  With the input read to its end there is nothing
 * to reset, and the wait only idles the worker: detaching tells libfcgi
 * to close at once.  So the answer is flushed first, what is left of the
 * input is drained within a second (and 8 MiB), and only input still
 * arriving after that (a client dribbling on after its answer) is cut
 * off: such a client may lose its answer; the worker is not held.  A body
 * refused unread (413) usually arrives within that second, so the web
 * server can finish sending it and passes our answer on, not a 502.
 */
static void
finish(struct http_req *req)
{
	struct timespec deadline;
	size_t left = 8u << 20;
	bool bounded = true;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 1;
	/*
	 * A GET's input is only the end-of-input record, which the web
	 * server sends with the parameters: reading it before the answer
	 * goes out (bounded by the same deadline) lets the answer and
	 * libfcgi's end-of-request record leave in one write at
	 * FCGX_Finish_r, not two (measured: one write and one web server
	 * wake-up less per API request).
	 */
	if (!req->input_done && bodiless(req))
		bounded = drain(req, &deadline, &left);
	/*
	 * Flush first only when there is input to drain: with the body read
	 * to its end, the answer and libfcgi's end-of-request record go out
	 * in one write at FCGX_Finish_r.  (Flushed apart, the second write
	 * usually found lighttpd gone already, having the whole answer by
	 * Content-Length: an extra write, EPIPE and SIGPIPE per webhook.)
	 */
	if (!req->input_done && bounded) {
		FCGX_FFlush(req->fcgx->out);
		bounded = drain(req, &deadline, &left);
	}
	if (bounded)
		FCGX_Detach(req->fcgx);
	FCGX_Finish_r(req->fcgx);
}

static void
serve_one(struct http_req *req, FCGX_Request *fr, http_handler handler, void *ctx)
{
	req->fcgx = fr;
	req->answered = false;
	req->input_done = false;
	set_socket_deadline_ms(fr->ipcFd, req->read_timeout_s * 1000);
	handler(req, ctx);
	if (!req->answered)
		http_send_error(req, HTTP_ERR_INTERNAL, "no answer", NULL);
	finish(req);
}

struct worker {
	pthread_t thread;
	http_handler handler;
	void *ctx;
	long read_timeout_s;
};

/*
 * Each thread accepts on its own, without a lock around FCGX_Accept_r:
 * fcgiapp.h documents it as multi-thread safe, and on Linux accept() on
 * one listening socket hands each connection to exactly one thread.  A
 * lock would serialise more than accept(): FCGX_Accept_r returns only
 * once the web server has sent the request's parameters (libfcgi polls
 * the new connection for them), so every thread waited, in turn, for the
 * web server's next turn of its event loop.  Measured here: the lock was
 * held ~300 us per request, capping ingest near 3,500 requests/s while
 * 2/3 of the threads waited for it and the CPUs were a third idle.
 */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct http_req req = { .read_timeout_s = w->read_timeout_s };
	FCGX_Request fr;
	int rc;

	if (FCGX_InitRequest(&fr, 0, 0) != 0)
		return NULL;
	for (;;) {
		rc = FCGX_Accept_r(&fr);
		if (rc < 0)
			break;
		serve_one(&req, &fr, w->handler, w->ctx);
	}
	FCGX_Free(&fr, 1);
	return NULL;
}

static int
serve_cgi(http_handler handler, void *ctx, long read_timeout_s)
{
	struct http_req req = { .read_timeout_s = read_timeout_s };

	handler(&req, ctx);
	if (!req.answered)
		http_send_error(&req, HTTP_ERR_INTERNAL, "no answer", NULL);
	return 0;
}

/*
 * Shutdown.  libfcgi notices SIGTERM only when the signal interrupts the
 * accept() of the thread inside it; with several threads the signal
 * usually lands elsewhere and the process never exits.  So the signals
 * are blocked in every thread and one thread waits for them: it flags the
 * shutdown and shuts the listening socket, which makes every accept()
 * fail at once.  Requests in progress finish and are answered.
 */
static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;

	if (sigwait(set, &sig) == 0 && sig != SIGUSR2) {
		log_info("signal %d: finishing requests in progress, then exiting", sig);
		FCGX_ShutdownPending();
		shutdown(STDIN_FILENO, SHUT_RDWR);
	}
	return NULL;
}

int
http_serve_threads(http_handler handler, void *ctx, long read_timeout_s,
    int nthreads)
{
	static sigset_t set;
	pthread_t sigthread;
	struct worker *w;
	int started = 0;

	if (FCGX_IsCGI())
		return serve_cgi(handler, ctx, read_timeout_s);
	fastcgi_mode = true;
	if (FCGX_Init() != 0) {
		log_error("FastCGI initialisation failed");
		return 1;
	}
	if (nthreads < 1)
		nthreads = 1;
	if ((w = calloc((size_t)nthreads, sizeof(*w))) == NULL)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);	/* mod_fcgid's and libfcgi's "finish up" */
	sigaddset(&set, SIGUSR2);	/* ours: stop the signal thread */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&sigthread, NULL, signal_main, &set) != 0) {
		free(w);
		return 1;
	}
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .handler = handler, .ctx = ctx,
		    .read_timeout_s = read_timeout_s };
		/* The calling thread is worker 0. */
		if (i > 0 && pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			log_error("cannot start request thread %d", i);
			break;
		}
		started++;
	}
	worker_main(&w[0]);
	for (int i = 1; i < started; i++)
		pthread_join(w[i].thread, NULL);
	pthread_kill(sigthread, SIGUSR2);
	pthread_join(sigthread, NULL);
	free(w);
	return 0;
}

int
http_serve(http_handler handler, void *ctx, long read_timeout_s)
{
	return http_serve_threads(handler, ctx, read_timeout_s, 1);
}
