/*
 * loadgen: a closed-loop HTTP/1.1 load generator that keeps every
 * latency, for bench/run.
 *
 * wrk reports p50..p99 for a whole run; a stall that comes every few
 * seconds hides in that.  loadgen keeps each request's latency (from the
 * first byte written to the last byte of the answer read) with the
 * second it completed in, so bench/run can print p50, p99, p99.9 and max
 * for the run and for each window of --window seconds.
 *
 *   loadgen --port P [--host 127.0.0.1] [--path /x] [--threads 2]
 *           [--connections 32] [--duration S] [--warmup S] [--window S]
 *           [--header 'Name: value']... [--events FILE --sig-header NAME]
 *
 * With --events, each request POSTs the next line of FILE ("<signature>
 * TAB <body>", bench/gen-events.py) with the signature in --sig-header;
 * thread t of n takes lines t, t+n, t+2n, ... so no event is sent twice
 * until the file wraps (reported as "wrapped").  With --gen-events SECRET
 * it makes the same bodies as bench/gen-events.py itself (event i, signed
 * with SECRET; --orders K as gen-events.py's), so a long run needs no
 * file of a million events.  Without either, GET --path.
 *
 * Output: one JSON object on stdout.  Each thread runs its connections
 * on its own epoll loop; answers are read by Content-Length or chunked
 * encoding, and a connection the server closes is opened again.
 * Closed loop, like wrk: a stalled server also stops the offered load,
 * so these are latencies of the requests made, not of a fixed arrival
 * rate.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_HEADERS 16
#define RBUF (256 * 1024)
#define MAX_WINDOWS 4096

static long first_event;
/* --dump-events N: print events 0..N-1 as gen-events.py would, and exit. */
static long dump_events;

struct opts {
	const char *host, *path, *events, *sig_header, *gen_secret, *prefix;
	long orders;
	const char *headers[MAX_HEADERS];
	int nheaders, port, threads, conns;
	double duration, warmup, window;
};

struct sample {
	uint32_t us;		/* latency */
	uint32_t sec;		/* completed in this second of the measurement */
};

struct conn {
	int fd;
	char *req;		/* the request being sent */
	size_t req_len, sent;
	char *rbuf;
	size_t rlen;
	int64_t start_ns;
};

struct worker {
	const struct opts *o;
	int id;
	pthread_t th;
	int ep;
	struct conn *c;
	int nconns;
	FILE *ev;		/* this thread's own handle on the events file */
	long line;		/* next line index this thread will send */
	long next_event;	/* --gen-events: the next event number */
	bool wrapped;
	struct sample *s;
	size_t ns, caps;
	long errors, non2xx, reconnects, unanswered;
	int64_t t0, measure_from, end;
};

static int64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- requests --------------------------------------------------------- */

static char *
get_line(struct worker *w, size_t *len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (;;) {
		n = getline(&line, &cap, w->ev);
		if (n < 0) {
			if (w->wrapped && w->line == 0)
				return free(line), NULL;
			rewind(w->ev);
			w->wrapped = true;
			w->line = 0;
			continue;
		}
		if (w->line++ % w->o->threads == w->id)
			break;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	*len = (size_t)n;
	return line;
}

/*
 * Event i exactly as bench/gen-events.py writes it (json.dumps, compact
 * separators), and its base64 HMAC-SHA256 signature.
 */
static const char *const gen_types[] = {
	"PAYMENT_SUCCEEDED", "ORDER_SUBMISSION_STARTED", "ORDER_PLACED",
	"TRACKING_OBTAINED",
};

static char *
gen_event(const struct opts *o, long i, char sig[64])
{
	static char pad[901];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *body;

	if (pad[0] == '\0')
		memset(pad, 'x', 900);
	if (asprintf(&body, "{\"id\":\"evt_%s_%09ld\",\"type\":\"%s\","
	    "\"requestId\":\"ord_%s_%09ld\",\"developerId\":\"bench\","
	    "\"createdAt\":\"2025-05-%02ldT%02ld:%02ld:00.%03ldZ\",\"data\":{"
	    "\"marketplace\":\"shopify\",\"note\":\"%s\",\"order\":{"
	    "\"trackingNumber\":\"1Z%016ld\",\"courierName\":\"UPS\","
	    "\"courierUrl\":\"https://www.ups.com/track?tracknum=1Z%016ld\"}}}",
	    o->prefix, i, gen_types[i % 4], o->prefix, i % o->orders, 1 + i % 28,
	    i % 24, i % 60, i % 1000, pad, i, i) < 0)
		die("asprintf");
	HMAC(EVP_sha256(), o->gen_secret, (int)strlen(o->gen_secret),
	    (const unsigned char *)body, strlen(body), mac, &maclen);
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
	return body;
}

static void
extra_headers(const struct opts *o, char *out, size_t sz)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < o->nheaders && n < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, "%s\r\n", o->headers[i]);
}

static void
next_request(struct worker *w, struct conn *c)
{
	const struct opts *o = w->o;
	char extra[2048];
	int n;

	free(c->req);
	extra_headers(o, extra, sizeof(extra));
	if (o->gen_secret != NULL) {
		char sig[64];
		char *body = gen_event(o, w->next_event, sig);
		w->next_event += o->threads;
		n = asprintf(&c->req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: application/json\r\n%s: %s\r\n%s"
		    "Content-Length: %zu\r\n\r\n%s", o->path, o->host, o->sig_header,
		    sig, extra, strlen(body), body);
		free(body);
	} else if (w->ev != NULL) {
		size_t len;
		char *line = get_line(w, &len), *tab;
		if (line == NULL || (tab = strchr(line, '\t')) == NULL) {
			fprintf(stderr, "loadgen: bad events file line\n");
			exit(1);
		}
		*tab = '\0';
		n = asprintf(&c->req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: application/json\r\n%s: %s\r\n%s"
		    "Content-Length: %zu\r\n\r\n%s", o->path, o->host, o->sig_header,
		    line, extra, strlen(tab + 1), tab + 1);
		free(line);
	} else
		n = asprintf(&c->req, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
		    o->path, o->host, extra);
	if (n < 0)
		die("asprintf");
	c->req_len = (size_t)n;
	c->sent = 0;
	c->rlen = 0;
	c->start_ns = 0;
}

/* --- connections ------------------------------------------------------ */

static void
conn_open(struct worker *w, struct conn *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event e = { .events = EPOLLOUT | EPOLLIN };
	int one = 1;

	a.sin_port = htons((uint16_t)w->o->port);
	if (inet_pton(AF_INET, w->o->host, &a.sin_addr) != 1)
		die("host (an IPv4 address)");
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS)
		die("connect");
	e.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e) < 0)
		die("epoll_ctl");
	c->sent = 0;
	c->rlen = 0;
	c->start_ns = 0;
}

static void
conn_reopen(struct worker *w, struct conn *c)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	w->reconnects++;
	conn_open(w, c);
}

/* --- answers ---------------------------------------------------------- */

/* The length of a chunked body starting at p (n bytes), or -1 if incomplete. */
static long
chunked_len(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		char *end;
		unsigned long sz;
		const char *crlf = memmem(p + i, n - i, "\r\n", 2);
		if (crlf == NULL)
			return -1;
		sz = strtoul(p + i, &end, 16);
		i = (size_t)(crlf - p) + 2;
		if (sz == 0) {
			const char *fin = memmem(p + i - 2, n - (i - 2), "\r\n\r\n", 4);
			return fin == NULL ? -1 : (long)(fin - p) + 4;
		}
		if (i + sz + 2 > n)
			return -1;
		i += sz + 2;
	}
}

/* 0: incomplete; > 0: the answer's length (status in *status); -1: junk. */
static long
answer_len(const char *b, size_t n, int *status, bool *close_after)
{
	const char *hend = memmem(b, n, "\r\n\r\n", 4), *cl, *te;
	size_t hlen;
	long body;

	if (hend == NULL)
		return n > 65536 ? -1 : 0;
	hlen = (size_t)(hend - b) + 4;
	if (sscanf(b, "HTTP/1.%*d %d", status) != 1)
		return -1;
	*close_after = memmem(b, hlen, "\r\nConnection: close", 19) != NULL ||
	    memmem(b, hlen, "\r\nconnection: close", 19) != NULL;
	cl = memmem(b, hlen, "\r\nContent-Length:", 17);
	if (cl == NULL)
		cl = memmem(b, hlen, "\r\ncontent-length:", 17);
	te = memmem(b, hlen, "chunked", 7);
	if (cl != NULL)
		body = strtol(cl + 17, NULL, 10);
	else if (te != NULL) {
		long c = chunked_len(hend + 4, n - hlen);
		return c < 0 ? 0 : (long)hlen + c;
	} else
		body = 0;
	return (size_t)body + hlen <= n ? (long)hlen + body : 0;
}

/* Keep one latency if its request began in the measured span; whether it did. */
static bool
record(struct worker *w, int64_t start, int64_t end)
{
	if (start < w->measure_from || start >= w->end)
		return false;
	if (end >= w->end)
		end = w->end - 1;	/* in the last window, not past it */
	if (w->ns == w->caps) {
		w->caps = w->caps ? w->caps * 2 : 65536;
		if ((w->s = realloc(w->s, w->caps * sizeof(*w->s))) == NULL)
			die("realloc");
	}
	w->s[w->ns].us = (uint32_t)((end - start) / 1000);
	w->s[w->ns].sec = (uint32_t)((end - w->measure_from) / 1000000000);
	w->ns++;
	return true;
}

static void
on_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
		int status = 0;
		bool close_after = false;
		long len;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->sent > 0)
				w->errors++;
			conn_reopen(w, c);
			return;
		}
		c->rlen += (size_t)n;
		len = answer_len(c->rbuf, c->rlen, &status, &close_after);
		if (len < 0 || (len == 0 && c->rlen == RBUF)) {
			w->errors++;
			conn_reopen(w, c);
			return;
		}
		if (len == 0)
			continue;
		if (record(w, c->start_ns, now_ns()) && (status < 200 || status > 299))
			w->non2xx++;	/* measured answers only, like the latencies */
		next_request(w, c);
		if (close_after) {
			conn_reopen(w, c);
			return;
		}
		struct epoll_event e = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
		epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
		return;
	}
}

static void
on_writable(struct worker *w, struct conn *c)
{
	while (c->sent < c->req_len) {
		ssize_t n = write(c->fd, c->req + c->sent, c->req_len - c->sent);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			w->errors++;
			conn_reopen(w, c);
			return;
		}
		if (c->sent == 0)
			c->start_ns = now_ns();
		c->sent += (size_t)n;
	}
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[64];

	if ((w->ep = epoll_create1(0)) < 0)
		die("epoll_create1");
	for (int i = 0; i < w->nconns; i++) {
		w->c[i].rbuf = malloc(RBUF);
		if (w->c[i].rbuf == NULL)
			die("malloc");
		conn_open(w, &w->c[i]);
		next_request(w, &w->c[i]);
	}
	while (now_ns() < w->end) {
		int n = epoll_wait(w->ep, ev, 64, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(w, c);
			else if (ev[i].events & EPOLLOUT)
				on_writable(w, c);
		}
	}
	/*
	 * A request still unanswered when the run ends counts with the time it
	 * had waited by then (a lower bound): a stall in the last seconds must
	 * not vanish from the tail because nothing came back.
	 */
	for (int i = 0; i < w->nconns; i++)
		if (w->c[i].start_ns != 0 && record(w, w->c[i].start_ns, w->end))
			w->unanswered++;
	return NULL;
}

static void
worker_free(struct worker *w)
{
	for (int i = 0; i < w->nconns; i++) {
		close(w->c[i].fd);
		free(w->c[i].req);
		free(w->c[i].rbuf);
	}
	if (w->ev != NULL)
		fclose(w->ev);
	if (w->ep >= 0)
		close(w->ep);
	free(w->c);
	free(w->s);
}

/* --- report ----------------------------------------------------------- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of n sorted values (nearest rank). */
static double
quantile_ms(const uint32_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static void
print_stats(const char *prefix, uint32_t *v, size_t n, double seconds)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	printf("%s\"requests\":%zu,\"rps\":%.1f,\"p50\":%.3f,\"p99\":%.3f,"
	    "\"p999\":%.3f,\"max\":%.3f", prefix, n, seconds > 0 ? n / seconds : 0,
	    quantile_ms(v, n, 0.50), quantile_ms(v, n, 0.99),
	    quantile_ms(v, n, 0.999), n ? v[n - 1] / 1000.0 : 0);
}

static void
report(struct worker *ws, const struct opts *o)
{
	size_t total = 0, k = 0;
	long errors = 0, non2xx = 0, reconnects = 0, unanswered = 0;
	bool wrapped = false;
	uint32_t *all, *win;
	int nwin = (int)(o->duration / o->window);

	for (int t = 0; t < o->threads; t++) {
		total += ws[t].ns;
		errors += ws[t].errors;
		non2xx += ws[t].non2xx;
		reconnects += ws[t].reconnects;
		unanswered += ws[t].unanswered;
		wrapped |= ws[t].wrapped;
	}
	if ((all = malloc((total + 1) * sizeof(*all))) == NULL ||
	    (win = malloc((total + 1) * sizeof(*win))) == NULL)
		die("malloc");
	printf("{\"threads\":%d,\"connections\":%d,\"seconds\":%.1f,\"errors\":%ld,"
	    "\"non2xx\":%ld,\"reconnects\":%ld,\"unanswered\":%ld,\"wrapped\":%s,",
	    o->threads, o->conns, o->duration, errors, non2xx, reconnects, unanswered,
	    wrapped ? "true" : "false");
	printf("\"windows\":[");
	for (int w = 0; w < nwin && w < MAX_WINDOWS; w++) {
		size_t m = 0;
		for (int t = 0; t < o->threads; t++)
			for (size_t i = 0; i < ws[t].ns; i++)
				if ((int)(ws[t].s[i].sec / o->window) == w)
					win[m++] = ws[t].s[i].us;
		printf("%s{\"start\":%.0f,", w ? "," : "", w * o->window);
		print_stats("", win, m, o->window);
		printf("}");
	}
	printf("],");
	for (int t = 0; t < o->threads; t++)
		for (size_t i = 0; i < ws[t].ns; i++)
			all[k++] = ws[t].s[i].us;
	print_stats("", all, k, o->duration);
	printf("}\n");
	free(all);
	free(win);
}

/* --- options ---------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --port P [--host A] [--path /x] "
	    "[--threads N] [--connections N] [--duration S] [--warmup S] "
	    "[--window S] [--header 'K: V']... [--events FILE | --gen-events SECRET "
	    "[--orders K] [--prefix P] [--first N]] [--sig-header NAME]\n");
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "path", 1, 0, 'P' },
		{ "threads", 1, 0, 't' }, { "connections", 1, 0, 'c' },
		{ "duration", 1, 0, 'd' }, { "warmup", 1, 0, 'w' },
		{ "window", 1, 0, 'W' }, { "header", 1, 0, 'H' },
		{ "events", 1, 0, 'e' }, { "sig-header", 1, 0, 's' },
		{ "gen-events", 1, 0, 'g' }, { "orders", 1, 0, 'o' },
		{ "prefix", 1, 0, 'x' }, { "first", 1, 0, 'f' },
		{ "dump-events", 1, 0, 'D' }, { 0, 0, 0, 0 },
	};
	int ch;

	*o = (struct opts){ .host = "127.0.0.1", .path = "/", .threads = 2,
	    .conns = 32, .duration = 10, .warmup = 1, .window = 5,
	    .sig_header = "Rye-Hmac-Signature-V1", .prefix = "bench", .orders = 0 };
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'P': o->path = optarg; break;
		case 't': o->threads = atoi(optarg); break;
		case 'c': o->conns = atoi(optarg); break;
		case 'd': o->duration = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'W': o->window = atof(optarg); break;
		case 'H':
			if (o->nheaders == MAX_HEADERS)
				usage();
			o->headers[o->nheaders++] = optarg;
			break;
		case 'e': o->events = optarg; break;
		case 's': o->sig_header = optarg; break;
		case 'g': o->gen_secret = optarg; break;
		case 'o': o->orders = atol(optarg); break;
		case 'x': o->prefix = optarg; break;
		case 'f': first_event = atol(optarg); break;
		case 'D': dump_events = atol(optarg); break;
		default: usage();
		}
	}
	if (o->orders <= 0)
		o->orders = 250000;
	if ((o->port <= 0 && dump_events == 0) || o->threads < 1 || o->conns < o->threads ||
	    o->duration <= 0 || o->window <= 0 || o->warmup < 0)
		usage();
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct worker *ws;
	int64_t t0;

	parse(argc, argv, &o);
	if (dump_events > 0 && o.gen_secret != NULL) {
		for (long i = 0; i < dump_events; i++) {
			char sig[64], *body = gen_event(&o, i, sig);
			printf("%s\t%s\n", sig, body);
			free(body);
		}
		return 0;
	}
	if ((ws = calloc((size_t)o.threads, sizeof(*ws))) == NULL)
		die("calloc");
	t0 = now_ns();
	for (int t = 0; t < o.threads; t++) {
		struct worker *w = &ws[t];
		w->o = &o;
		w->id = t;
		w->nconns = o.conns / o.threads + (t < o.conns % o.threads);
		w->c = calloc((size_t)w->nconns, sizeof(*w->c));
		w->t0 = t0;
		w->measure_from = t0 + (int64_t)(o.warmup * 1e9);
		w->end = w->measure_from + (int64_t)(o.duration * 1e9);
		w->next_event = first_event + t;
		if (o.events != NULL && (w->ev = fopen(o.events, "r")) == NULL)
			die(o.events);
		if (w->c == NULL || pthread_create(&w->th, NULL, worker_main, w) != 0)
			die("thread");
	}
	for (int t = 0; t < o.threads; t++)
		pthread_join(ws[t].th, NULL);
	report(ws, &o);
	for (int t = 0; t < o.threads; t++)
		worker_free(&ws[t]);
	free(ws);
	return 0;
}
