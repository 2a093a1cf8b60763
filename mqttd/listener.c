/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets (listener.tcp.*, .ssl.*, .ws.*, .wss.*).  conn_new()
 * gets the listener and puts TLS and WebSocket sockets behind xport.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/mqttd.h"

static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;

	if (broker->shutting_down) {
		evutil_closesocket(fd);
		return;
	}
	conn_new(l, fd, sa, salen);
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	if (l->evl != NULL)
		evconnlistener_enable(l->evl);
}

static void
listener_error(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { 1, 0 };
	int		 e = errno;

	log_warn("listener %s.%s: accept",
	    conf_listener_kind_name(l->cl->kind), l->cl->name);
	/*
	 * Out of descriptors (or memory): the pending connection stays
	 * readable, so accepting again at once would spin.  Pause a second.
	 */
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(evl);
		if (l->pause_ev == NULL)
			l->pause_ev = evtimer_new(broker->base,
			    listener_resume, l);
		evtimer_add(l->pause_ev, &tv);
	}
}

static int
listener_open(struct listener *l)
{
	struct addrinfo	 hints, *res = NULL;
	char		 port[8];
	const char	*host;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", l->cl->port);
	/* "" (0.0.0.0 or *) is every IPv4 address. */
	host = l->cl->host[0] != '\0' ? l->cl->host : "0.0.0.0";
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("listener %s.%s: %s: %s",
		    conf_listener_kind_name(l->cl->kind), l->cl->name, host,
		    gai_strerror(rc));
		return (-1);
	}
	l->evl = evconnlistener_new_bind(broker->base, listener_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SOMAXCONN, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l->evl == NULL) {
		log_warn("listener %s.%s: bind %s:%u",
		    conf_listener_kind_name(l->cl->kind), l->cl->name, host,
		    l->cl->port);
		return (-1);
	}
	evconnlistener_set_error_cb(l->evl, listener_error);
	log_info("listening on %s:%u (%s.%s)", host, l->cl->port,
	    conf_listener_kind_name(l->cl->kind), l->cl->name);
	return (0);
}

int
listener_open_all(void)
{
	const struct conf	*conf = broker->conf;
	int			 i;

	broker->listeners = xcalloc(conf->nlisteners ? conf->nlisteners : 1,
	    sizeof(*broker->listeners));
	broker->nlisteners = 0;
	for (i = 0; i < conf->nlisteners; i++) {
		/* tcp, ssl, ws and wss: conn_new() adds TLS and WebSocket
		 * (xport.c); http is clusterd's. */
		if (conf->listeners[i].kind == CONF_LISTENER_HTTP)
			continue;
		broker->listeners[broker->nlisteners].cl = &conf->listeners[i];
		if (listener_open(&broker->listeners[broker->nlisteners]) == -1)
			return (-1);
		broker->nlisteners++;
	}
	if (broker->nlisteners == 0)
		log_warnx("no MQTT listener (tcp, ssl, ws, wss) in the "
		    "configuration: not accepting MQTT clients");
	return (0);
}

void
listener_close_all(void)
{
	int	i;

	for (i = 0; i < broker->nlisteners; i++) {
		if (broker->listeners[i].evl != NULL)
			evconnlistener_free(broker->listeners[i].evl);
		broker->listeners[i].evl = NULL;
		if (broker->listeners[i].pause_ev != NULL)
			event_free(broker->listeners[i].pause_ev);
		broker->listeners[i].pause_ev = NULL;
	}
	free(broker->listeners);
	broker->listeners = NULL;
	broker->nlisteners = 0;
}
