package live

import "github.com/prometheus/client_golang/prometheus"

// collector reads the hub's and the listener's counters at each scrape, so
// the hot paths keep their plain atomics.
type collector struct {
	hub      *Hub
	listener *Listener
}

// Collector exports the live layer's counters to Prometheus: whether this
// instance is listening, how often its listener reconnected, the
// notifications it received and dropped, and the screens cut off as too
// slow or because their right ended. Either argument may be nil.
func Collector(hub *Hub, listener *Listener) prometheus.Collector {
	return collector{hub: hub, listener: listener}
}

var (
	listeningDesc = prometheus.NewDesc("koto_live_listener_listening",
		"1 while this instance's LISTEN session is up, else 0.", nil, nil)
	sessionsDesc = prometheus.NewDesc("koto_live_listener_sessions_total",
		"LISTEN sessions started; more than one means the listener reconnected.", nil, nil)
	notificationsDesc = prometheus.NewDesc("koto_live_notifications_total",
		"Notifications the listener received.", nil, nil)
	malformedDesc = prometheus.NewDesc("koto_live_notifications_malformed_total",
		"Notifications that were not events, and were dropped.", nil, nil)
	slowClosedDesc = prometheus.NewDesc("koto_live_slow_connections_closed_total",
		"Websocket connections closed because they fell a whole queue behind.", nil, nil)
	endedDesc = prometheus.NewDesc("koto_live_connections_ended_total",
		"Websocket connections closed because the session, account or device they rested on ended.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	if c.listener != nil {
		ch <- listeningDesc
		ch <- sessionsDesc
		ch <- notificationsDesc
		ch <- malformedDesc
	}
	if c.hub != nil {
		ch <- slowClosedDesc
		ch <- endedDesc
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	if c.listener != nil {
		st := c.listener.Stats()
		listening := 0.0
		if st.Listening {
			listening = 1
		}
		ch <- prometheus.MustNewConstMetric(listeningDesc, prometheus.GaugeValue, listening)
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.CounterValue, float64(st.Sessions))
		ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(st.Notifications))
		ch <- prometheus.MustNewConstMetric(malformedDesc, prometheus.CounterValue, float64(st.Malformed))
	}
	if c.hub != nil {
		ch <- prometheus.MustNewConstMetric(slowClosedDesc, prometheus.CounterValue, float64(c.hub.SlowClosed()))
		ch <- prometheus.MustNewConstMetric(endedDesc, prometheus.CounterValue, float64(c.hub.Ended()))
	}
}
