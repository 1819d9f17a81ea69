/* Copyright (c) 2026 pop3-policy authors, see the included COPYING file */

/* The harness's POP3 client over TCP (see pp-harness.h). */

#include "pp-harness-private.h"

struct _PpPop3 {
	GSocketConnection *conn;
	GDataInputStream *in;
	GOutputStream *out;
	char *greeting;
};

/* POP3 client */

PpPop3 *pp_pop3_connect(guint16 port, GError **error)
{
	GSocketClient *client = g_socket_client_new();
	GSocketConnection *conn;
	PpPop3 *pop3;
	GError *err = NULL;

	g_socket_client_set_timeout(client, PP_IO_TIMEOUT_SECS);
	conn = g_socket_client_connect_to_host(client, "127.0.0.1", port,
					       NULL, error);
	g_object_unref(client);
	if (conn == NULL)
		return NULL;
	pop3 = g_new0(PpPop3, 1);
	pop3->conn = conn;
	pop3->in = g_data_input_stream_new(
		g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	g_data_input_stream_set_newline_type(pop3->in,
					     G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
	g_filter_input_stream_set_close_base_stream(
		G_FILTER_INPUT_STREAM(pop3->in), FALSE);
	pop3->out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	pop3->greeting = g_data_input_stream_read_line(pop3->in, NULL,
						       NULL, &err);
	if (pop3->greeting == NULL) {
		if (err != NULL)
			g_propagate_error(error, err);
		else {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED,
				    "connection closed before the greeting");
		}
		pp_pop3_close(pop3);
		return NULL;
	}
	return pop3;
}

const char *pp_pop3_greeting(PpPop3 *pop3)
{
	return pop3->greeting;
}

/* Reads one line without CRLF; NULL on EOF, "<error: ...>" on an I/O
   error, so that a status check fails with the reason. */
static char *pp_pop3_read_line(PpPop3 *pop3)
{
	GError *error = NULL;
	char *line;

	line = g_data_input_stream_read_line(pop3->in, NULL, NULL, &error);
	if (line != NULL)
		return line;
	if (error == NULL)
		return NULL;
	line = g_strdup_printf("<error: %s>", error->message);
	g_error_free(error);
	return line;
}

char *pp_pop3_cmd(PpPop3 *pop3, const char *cmd)
{
	char *data = g_strconcat(cmd, "\r\n", NULL);
	GError *error = NULL;
	char *line;

	if (!g_output_stream_write_all(pop3->out, data, strlen(data), NULL,
				       NULL, &error)) {
		line = g_strdup_printf("<error: %s>", error->message);
		g_error_free(error);
		g_free(data);
		return line;
	}
	g_free(data);
	line = pp_pop3_read_line(pop3);
	return line != NULL ? line : g_strdup("");
}

char *pp_pop3_cmd_multi(PpPop3 *pop3, const char *cmd)
{
	char *status = pp_pop3_cmd(pop3, cmd);
	GString *str;

	if (!g_str_has_prefix(status, "+OK"))
		return status;
	str = g_string_new(status);
	g_free(status);
	for (;;) {
		char *line = pp_pop3_read_line(pop3);

		if (line == NULL) {
			g_string_append(str, "\n<error: connection closed "
					"before the final \".\">");
			break;
		}
		if (strcmp(line, ".") == 0) {
			g_free(line);
			break;
		}
		if (g_str_has_prefix(line, "<error: ")) {
			g_string_append_printf(str, "\n%s", line);
			g_free(line);
			break;
		}
		g_string_append_c(str, '\n');
		g_string_append(str, line[0] == '.' ? line + 1 : line);
		g_free(line);
	}
	return g_string_free(str, FALSE);
}

gboolean pp_pop3_login(PpPop3 *pop3, const char *user, const char *password)
{
	char *cmd, *reply;
	gboolean ok;

	cmd = g_strdup_printf("USER %s", user);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	ok = g_str_has_prefix(reply, "+OK");
	g_free(reply);
	if (!ok)
		return FALSE;
	cmd = g_strdup_printf("PASS %s", password);
	reply = pp_pop3_cmd(pop3, cmd);
	g_free(cmd);
	ok = g_str_has_prefix(reply, "+OK");
	g_free(reply);
	return ok;
}

void pp_pop3_close(PpPop3 *pop3)
{
	if (pop3 == NULL)
		return;
	g_io_stream_close(G_IO_STREAM(pop3->conn), NULL, NULL);
	g_clear_object(&pop3->in);
	g_clear_object(&pop3->conn);
	g_free(pop3->greeting);
	g_free(pop3);
}
