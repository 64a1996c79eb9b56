/*
 * bench/hello: the ceiling for a FastCGI program behind the web server.
 *
 * The smallest useful libfcgi responder: accept, answer a fixed 17-byte
 * JSON body, finish.  It uses libfcgi's ordinary accept/finish loop (no
 * threads, no tricks), so it is what "a minimal C FastCGI program" costs;
 * bench/run starts it through lighttpd ("max-procs" => 2) like shiptrack.
 */
#include "config.h"

#include <fcgiapp.h>

int
main(void)
{
	static const char answer[] =
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 17\r\n"
	    "\r\n"
	    "{\"hello\":\"world\"}";
	FCGX_Request r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(answer, (int)(sizeof(answer) - 1), r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
