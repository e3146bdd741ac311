package store

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the pool's figures for /metrics.
func (db *DB) Collectors() []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("koto_db_pool_total_conns", "Connections in the database pool.", func() float64 { return float64(db.Pool.Stat().TotalConns()) }),
		gauge("koto_db_pool_idle_conns", "Idle connections in the database pool.", func() float64 { return float64(db.Pool.Stat().IdleConns()) }),
		gauge("koto_db_pool_acquired_conns", "Connections in use.", func() float64 { return float64(db.Pool.Stat().AcquiredConns()) }),
		gauge("koto_db_pool_max_conns", "Pool size limit.", func() float64 { return float64(db.Pool.Stat().MaxConns()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "koto_db_pool_acquire_wait_total", Help: "Acquires that had to wait for a connection.",
		}, func() float64 { return float64(db.Pool.Stat().EmptyAcquireCount()) }),
	}
}
