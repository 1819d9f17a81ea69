/* The POP3 load generator: one poll() loop, one state machine per client
   slot. Each slot runs one session after the other; a session is a fixed
   list of steps (the greeting, then one command per step). Replies are not
   kept: a single-line reply is read up to its CRLF, a multi-line one is
   followed only through its last five bytes until they are the
   terminating CRLF "." CRLF (dot-stuffing guarantees that sequence ends the
   listing and appears nowhere before), counting lines on the way. */

#include "bench-pop3.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_LINE_MAX 1024
#define BENCH_READ_SIZE 65536
/* Stop a run whose sessions keep failing rather than spin on errors. */
#define BENCH_MAX_ERRORS 50

enum bench_step {
	STEP_GREETING = 0,
	STEP_USER,
	STEP_PASS,
	STEP_APOP,
	STEP_STAT,
	STEP_UIDL,
	STEP_RETR,
	STEP_QUIT,
	STEP_CAPA,
	STEP_END,
};

volatile sig_atomic_t bench_pop3_stop = 0;

static const char *const step_names[] = {
	"greeting", "USER", "PASS", "APOP", "STAT", "UIDL", "RETR 1", "QUIT",
	"CAPA", "end"
};

static const enum bench_step steps_full[] = {
	STEP_GREETING, STEP_USER, STEP_PASS, STEP_STAT, STEP_UIDL, STEP_RETR,
	STEP_QUIT, STEP_END
};
static const enum bench_step steps_apop[] = {
	STEP_GREETING, STEP_APOP, STEP_QUIT, STEP_END
};
static const enum bench_step steps_login[] = {
	STEP_GREETING, STEP_USER, STEP_PASS, STEP_QUIT, STEP_END
};
static const enum bench_step steps_capa[] = {
	STEP_GREETING, STEP_CAPA, STEP_USER, STEP_PASS, STEP_CAPA, STEP_STAT,
	STEP_UIDL, STEP_RETR, STEP_QUIT, STEP_END
};
static const enum bench_step steps_uidl[] = {
	STEP_GREETING, STEP_USER, STEP_PASS, STEP_UIDL, STEP_QUIT, STEP_END
};

struct bench_slot {
	unsigned int idx;
	int fd;
	const enum bench_step *steps;
	unsigned int step;
	const struct bench_user *user;

	/* the status line being read */
	char line[BENCH_LINE_MAX];
	size_t line_len;
	/* multi-line body: the last bytes seen, and the lines counted */
	bool in_body;
	char tail[5];
	size_t tail_len;
	unsigned int body_lines;

	char out[BENCH_LINE_MAX];
	size_t out_len, out_pos;

	char challenge[BENCH_LINE_MAX];
	double session_start, cmd_start, last_progress;
};

struct bench_run {
	const struct bench_load *load;
	struct bench_result *result;
	struct bench_slot *slots;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
	} addr;
	double start, deadline, last_done;
	unsigned int started;
	char *fatal;
};

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double bench_median(GArray *arr)
{
	double *v;
	unsigned int n;

	if (arr == NULL || arr->len == 0)
		return 0;
	v = (double *)arr->data;
	n = arr->len;
	for (unsigned int i = 1; i < n; i++) {
		double x = v[i];
		unsigned int j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_result_clear(struct bench_result *result)
{
	if (result->session_secs != NULL)
		g_array_free(result->session_secs, TRUE);
	if (result->uidl_secs != NULL)
		g_array_free(result->uidl_secs, TRUE);
	g_free(result->first_error);
	memset(result, 0, sizeof(*result));
}

static bool step_is_multiline(enum bench_step step)
{
	return step == STEP_UIDL || step == STEP_RETR || step == STEP_CAPA;
}

static void slot_close(struct bench_slot *slot)
{
	if (slot->fd != -1) {
		close(slot->fd);
		slot->fd = -1;
	}
}

static bool run_may_start(struct bench_run *run)
{
	if (run->fatal != NULL || run->result->errors >= BENCH_MAX_ERRORS)
		return FALSE;
	if (run->load->duration_secs > 0)
		return now_secs() < run->deadline;
	return run->started < run->load->sessions;
}

static void slot_fail(struct bench_run *run, struct bench_slot *slot,
		      const char *why)
{
	run->result->errors++;
	if (run->result->first_error == NULL) {
		run->result->first_error = g_strdup_printf(
			"user %s, %s: %s", slot->user->user,
			step_names[slot->steps[slot->step]], why);
	}
	slot_close(slot);
}

static void slot_start(struct bench_run *run, struct bench_slot *slot)
{
	const struct bench_load *load = run->load;
	int fd, one = 1;

	switch (load->kind) {
	case BENCH_SESSION_FULL:
		slot->steps = steps_full;
		break;
	case BENCH_SESSION_APOP:
		slot->steps = steps_apop;
		break;
	case BENCH_SESSION_LOGIN:
		slot->steps = steps_login;
		break;
	case BENCH_SESSION_CAPA:
		slot->steps = steps_capa;
		break;
	case BENCH_SESSION_UIDL:
		slot->steps = steps_uidl;
		break;
	}
	slot->user = &load->users[slot->idx % load->users_count];
	slot->step = 0;
	slot->line_len = 0;
	slot->in_body = FALSE;
	slot->out_len = slot->out_pos = 0;
	slot->session_start = slot->last_progress = now_secs();
	run->started++;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		run->fatal = g_strdup_printf("socket() failed: %s",
					     g_strerror(errno));
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	slot->fd = fd;
	if (connect(fd, &run->addr.sa, sizeof(run->addr.in)) < 0 &&
	    errno != EINPROGRESS) {
		slot_fail(run, slot, g_strerror(errno));
		return;
	}
}

static void apop_digest(const struct bench_slot *slot, char *dest,
			size_t size)
{
	char *input = g_strconcat(slot->challenge, slot->user->password, NULL);
	char *hex = g_compute_checksum_for_string(G_CHECKSUM_MD5, input, -1);

	g_strlcpy(dest, hex, size);
	g_free(hex);
	g_free(input);
}

/* Formats the command of the current step into the output buffer. */
static void slot_send_step(struct bench_slot *slot)
{
	enum bench_step step = slot->steps[slot->step];
	char digest[64];
	int len = 0;

	switch (step) {
	case STEP_USER:
		len = g_snprintf(slot->out, sizeof(slot->out), "USER %s\r\n",
				 slot->user->user);
		break;
	case STEP_PASS:
		len = g_snprintf(slot->out, sizeof(slot->out), "PASS %s\r\n",
				 slot->user->password);
		break;
	case STEP_APOP:
		apop_digest(slot, digest, sizeof(digest));
		len = g_snprintf(slot->out, sizeof(slot->out),
				 "APOP %s %s\r\n", slot->user->user, digest);
		break;
	case STEP_STAT:
		len = g_snprintf(slot->out, sizeof(slot->out), "STAT\r\n");
		break;
	case STEP_UIDL:
		len = g_snprintf(slot->out, sizeof(slot->out), "UIDL\r\n");
		break;
	case STEP_RETR:
		len = g_snprintf(slot->out, sizeof(slot->out), "RETR 1\r\n");
		break;
	case STEP_QUIT:
		len = g_snprintf(slot->out, sizeof(slot->out), "QUIT\r\n");
		break;
	case STEP_CAPA:
		len = g_snprintf(slot->out, sizeof(slot->out), "CAPA\r\n");
		break;
	case STEP_GREETING:
	case STEP_END:
		g_assert_not_reached();
	}
	slot->out_len = len;
	slot->out_pos = 0;
	slot->line_len = 0;
	slot->in_body = FALSE;
	slot->tail_len = 0;
	slot->body_lines = 0;
	slot->cmd_start = now_secs();
}

/* Writes what is pending; returns FALSE if the slot failed. */
static bool slot_flush(struct bench_run *run, struct bench_slot *slot)
{
	while (slot->out_pos < slot->out_len) {
		ssize_t ret = write(slot->fd, slot->out + slot->out_pos,
				    slot->out_len - slot->out_pos);

		if (ret < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return TRUE;
			slot_fail(run, slot, g_strerror(errno));
			return FALSE;
		}
		slot->out_pos += ret;
	}
	return TRUE;
}

/* The reply of the current step is complete. */
static void slot_step_done(struct bench_run *run, struct bench_slot *slot)
{
	const struct bench_load *load = run->load;
	enum bench_step step = slot->steps[slot->step];
	double now = now_secs();

	if (step == STEP_GREETING && load->kind == BENCH_SESSION_APOP) {
		const char *lt = strchr(slot->line, '<');
		const char *gt = lt == NULL ? NULL : strchr(lt, '>');

		if (gt == NULL) {
			slot_fail(run, slot, "no APOP challenge in greeting "
				  "(is APOP in auth_mechanisms?)");
			return;
		}
		g_strlcpy(slot->challenge, lt, gt - lt + 2);
	}
	if (step == STEP_UIDL) {
		if (load->expect_uidl_lines != 0 &&
		    slot->body_lines != load->expect_uidl_lines) {
			char *why = g_strdup_printf(
				"listed %u lines, expected %u",
				slot->body_lines, load->expect_uidl_lines);
			slot_fail(run, slot, why);
			g_free(why);
			return;
		}
		if (load->kind == BENCH_SESSION_UIDL) {
			double secs = now - slot->cmd_start;
			g_array_append_val(run->result->uidl_secs, secs);
		}
	}
	slot->step++;
	if (slot->steps[slot->step] != STEP_END) {
		slot_send_step(slot);
		(void)slot_flush(run, slot);
		return;
	}
	/* QUIT answered: the session is complete. */
	double secs = now - slot->session_start;
	g_array_append_val(run->result->session_secs, secs);
	run->result->sessions++;
	run->last_done = now;
	slot_close(slot);
}

/* Feeds received bytes into the slot's reply parser. */
static void slot_input(struct bench_run *run, struct bench_slot *slot,
		       const char *data, size_t size)
{
	size_t i = 0;

	while (i < size && slot->fd != -1) {
		if (slot->in_body) {
			for (; i < size; i++) {
				if (data[i] == '\n')
					slot->body_lines++;
				if (slot->tail_len == sizeof(slot->tail)) {
					memmove(slot->tail, slot->tail + 1,
						sizeof(slot->tail) - 1);
					slot->tail_len--;
				}
				slot->tail[slot->tail_len++] = data[i];
				if (slot->tail_len == 5 &&
				    memcmp(slot->tail, "\r\n.\r\n", 5) == 0) {
					i++;
					/* the "." line is no entry */
					slot->body_lines--;
					slot->in_body = FALSE;
					slot_step_done(run, slot);
					break;
				}
			}
			continue;
		}
		for (; i < size; i++) {
			if (slot->line_len == sizeof(slot->line) - 1) {
				slot_fail(run, slot, "reply line too long");
				return;
			}
			slot->line[slot->line_len++] = data[i];
			if (data[i] == '\n')
				break;
		}
		if (i == size)
			return;
		i++;
		slot->line[slot->line_len] = '\0';
		if (slot->line_len < 2 ||
		    slot->line[slot->line_len - 2] != '\r') {
			slot_fail(run, slot, "reply line without CRLF");
			return;
		}
		slot->line[slot->line_len - 2] = '\0';
		if (strncmp(slot->line, "+OK", 3) != 0) {
			slot_fail(run, slot, slot->line);
			return;
		}
		if (step_is_multiline(slot->steps[slot->step])) {
			/* the listing starts after the status line's CRLF */
			slot->in_body = TRUE;
			memcpy(slot->tail, "\r\n", 2);
			slot->tail_len = 2;
			slot->body_lines = 0;
		} else {
			slot_step_done(run, slot);
		}
	}
}

static void slot_readable(struct bench_run *run, struct bench_slot *slot,
			  char *buf)
{
	ssize_t ret;

	ret = read(slot->fd, buf, BENCH_READ_SIZE);
	if (ret < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		slot_fail(run, slot, g_strerror(errno));
		return;
	}
	if (ret == 0) {
		slot_fail(run, slot, "connection closed by the server");
		return;
	}
	slot->last_progress = now_secs();
	slot_input(run, slot, buf, ret);
}

int bench_pop3_run(const struct bench_load *load,
		   struct bench_result *result_r, GError **error)
{
	struct bench_run run;
	struct pollfd *pfds;
	unsigned int *pfd_slot;
	char *buf;
	unsigned int i, active;

	g_return_val_if_fail(load->concurrency > 0 && load->users_count > 0,
			     -1);
	memset(result_r, 0, sizeof(*result_r));
	result_r->session_secs = g_array_new(FALSE, FALSE, sizeof(double));
	result_r->uidl_secs = g_array_new(FALSE, FALSE, sizeof(double));

	memset(&run, 0, sizeof(run));
	run.load = load;
	run.result = result_r;
	run.addr.in.sin_family = AF_INET;
	run.addr.in.sin_port = htons(load->port);
	run.addr.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	run.slots = g_new0(struct bench_slot, load->concurrency);
	pfds = g_new0(struct pollfd, load->concurrency);
	pfd_slot = g_new0(unsigned int, load->concurrency);
	buf = g_malloc(BENCH_READ_SIZE);

	run.start = run.last_done = now_secs();
	run.deadline = run.start + load->duration_secs;
	for (i = 0; i < load->concurrency; i++) {
		run.slots[i].idx = i;
		run.slots[i].fd = -1;
		if (run_may_start(&run))
			slot_start(&run, &run.slots[i]);
	}

	for (;;) {
		double now = now_secs();
		int timeout_msecs = 1000;

		active = 0;
		for (i = 0; i < load->concurrency && run.fatal == NULL; i++) {
			struct bench_slot *slot = &run.slots[i];

			if (slot->fd == -1 && run_may_start(&run))
				slot_start(&run, slot);
			if (slot->fd == -1)
				continue;
			if (now - slot->last_progress >
			    load->stall_timeout_secs) {
				run.fatal = g_strdup_printf(
					"user %s, %s: no reply for %.0f s",
					slot->user->user,
					step_names[slot->steps[slot->step]],
					load->stall_timeout_secs);
				break;
			}
			pfds[active].fd = slot->fd;
			pfds[active].events = POLLIN |
				(slot->out_pos < slot->out_len ? POLLOUT : 0);
			pfds[active].revents = 0;
			pfd_slot[active] = i;
			active++;
		}
		if (bench_pop3_stop != 0 && run.fatal == NULL)
			run.fatal = g_strdup("interrupted");
		if (run.fatal != NULL || active == 0)
			break;
		if (load->duration_secs > 0 && now < run.deadline &&
		    (run.deadline - now) * 1000 < timeout_msecs)
			timeout_msecs = (int)((run.deadline - now) * 1000) + 1;

		if (poll(pfds, active, timeout_msecs) < 0) {
			if (errno == EINTR)
				continue;
			run.fatal = g_strdup_printf("poll() failed: %s",
						    g_strerror(errno));
			break;
		}
		for (i = 0; i < active; i++) {
			struct bench_slot *slot = &run.slots[pfd_slot[i]];

			if (pfds[i].revents == 0 || slot->fd != pfds[i].fd)
				continue;
			if ((pfds[i].revents & POLLOUT) != 0 &&
			    !slot_flush(&run, slot))
				continue;
			if ((pfds[i].revents &
			     (POLLIN | POLLERR | POLLHUP)) != 0)
				slot_readable(&run, slot, buf);
		}
	}

	for (i = 0; i < load->concurrency; i++)
		slot_close(&run.slots[i]);
	result_r->elapsed_secs = run.last_done - run.start;
	if (result_r->sessions > 0 && result_r->elapsed_secs > 0) {
		result_r->sessions_per_sec =
			result_r->sessions / result_r->elapsed_secs;
	}
	g_free(buf);
	g_free(pfd_slot);
	g_free(pfds);
	g_free(run.slots);
	if (run.fatal != NULL) {
		g_set_error(error, g_quark_from_static_string("bench-pop3"), 0,
			    "load on port %u: %s", load->port, run.fatal);
		g_free(run.fatal);
		return -1;
	}
	return 0;
}
