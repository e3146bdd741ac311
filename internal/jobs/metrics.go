package jobs

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/koto-portal/portal/internal/sqldb"
)

// countsMaxAge is how long one read of the job table serves scrapes: the
// counts are a group-by over River's table, cheap but not free, and several
// scrapers or a short scrape interval should not multiply it.
const countsMaxAge = 15 * time.Second

type metrics struct {
	db     sqldb.DB
	pushes *prometheus.CounterVec

	mu     sync.Mutex
	readAt time.Time
	counts []jobCount
	kinds  map[string]bool // every kind seen, so its emptied states read 0, not absent
}

type jobCount struct {
	kind, state string
	n           float64
}

func newMetrics(db sqldb.DB) *metrics {
	return &metrics{db: db, pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "koto_push_messages_total",
		Help: "Web Push attempts by job kind and outcome: sent, gone (subscription deleted), retry (will try again), failed (given up, logged).",
	}, []string{"kind", "outcome"}), kinds: map[string]bool{}}
}

// jobStates are River's job states.
var jobStates = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}

var jobsDesc = prometheus.NewDesc("koto_jobs",
	"Jobs in the shared queue by kind and state (available, scheduled, running, retryable, completed, cancelled, discarded); finished ones are kept a day, discarded a week.",
	[]string{"kind", "state"}, nil)

// Collector exports the queue's job counts and this instance's push
// outcomes to Prometheus.
func (s *Service) Collector() prometheus.Collector { return s.metrics }

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.pushes.Describe(ch)
	ch <- jobsDesc
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.pushes.Collect(ch)
	for _, c := range m.jobCounts() {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, c.n, c.kind, c.state)
	}
}

// jobCounts reads the counts at most once per countsMaxAge; on a database
// error the last counts stand, as a scrape should not fail for them.
func (m *metrics) jobCounts() []jobCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.readAt) < countsMaxAge {
		return m.counts
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	found := map[[2]string]float64{}
	err := m.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY 1, 2`)
		if err != nil {
			return err
		}
		var kind, state string
		var n int64
		_, err = sqldb.ForEachRow(rows, []any{&kind, &state, &n}, func() error {
			found[[2]string{kind, state}] = float64(n)
			m.kinds[kind] = true
			return nil
		})
		return err
	})
	if err != nil {
		return m.counts
	}
	kinds := slices.Sorted(maps.Keys(m.kinds))
	counts := make([]jobCount, 0, len(kinds)*len(jobStates))
	for _, kind := range kinds {
		for _, state := range jobStates {
			counts = append(counts, jobCount{kind: kind, state: state, n: found[[2]string{kind, state}]})
		}
	}
	m.counts, m.readAt = counts, time.Now()
	return counts
}
