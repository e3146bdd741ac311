package outreach

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// BenchmarkCampaign sends one campaign to 100,000 enrolled clients (set
// KOTO_BENCH_CAMPAIGN_CLIENTS for another number) of one service point,
// through the real job queue and push sender, to a push service on
// loopback that only answers 201, and reports the time from "send" (the
// campaign started) to the last push the service accepted, and the
// process's memory meanwhile (Go's heap in use and the resident set, both
// at their highest; the push service runs in the same process).
//
// The sending rate is 500 a second (PORTAL_CAMPAIGN_RATE=500), past what
// this machine's two cores send, so the figure is the portal's capacity;
// at the default CampaignRate the same campaign takes clients/CampaignRate
// seconds by design.
//
//	go test ./internal/outreach -run '^$' -bench Campaign -benchtime 1x -timeout 60m
func BenchmarkCampaign(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KOTO_BENCH_CAMPAIGN_CLIENTS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		runCampaign(b, n)
	}
}

func runCampaign(b *testing.B, n int) {
	f := newFixture(b)
	f.svc.campaignRate = 500
	var accepted atomic.Int64
	var last atomic.Int64
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		accepted.Add(1)
		last.Store(time.Now().UnixNano())
		w.WriteHeader(http.StatusCreated)
	}))
	b.Cleanup(service.Close)
	fake := pushtest.NewServer(b) // for a VAPID key pair and a browser's keys
	cfg := fake.Config()
	u, _ := url.Parse(service.URL)
	cfg.AllowedHosts, cfg.Client = []string{u.Hostname()}, nil
	sub, _ := fake.NewSubscription()
	keys, _ := json.Marshal(map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth})

	lead := f.lead()
	tpl, err := f.svc.SaveTemplate(f.ctx, lead, 0, TemplateInput{Name: "Syksy", Texts: map[string]string{
		"fi": "Hei {first_name}, syksyn infotilaisuus on torstaina.", "so": "Salaan {first_name}, kulanka dayrta waa Khamiista.",
		"ar": "مرحبا {first_name}، جلسة الخريف يوم الخميس.", "ru": "Привет, {first_name}! Осенняя встреча в четверг."}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f.owner.Run(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language, status)
		SELECT $1, $2, 'C' || i, 'X', (ARRAY['fi','so','ar','ru','en','uk'])[1 + i % 6], 'active' FROM generate_series(1, $3) i`,
		f.tenant, f.sp, n)
	f.owner.Run(`INSERT INTO client_devices (municipality_id, client_id, credential_hash, push_subscription)
		SELECT $1, c.id, decode(md5('bench' || c.id), 'hex'),
		       jsonb_build_object('endpoint', $3 || '/push/' || c.id, 'keys', $4::jsonb)
		FROM clients c WHERE c.service_point_id = $2 AND c.first_names LIKE 'C%'`, f.tenant, f.sp, service.URL, keys)
	f.owner.Run(`ANALYZE`)
	b.Logf("%d clients with a phone each loaded in %v", n, time.Since(start).Round(time.Millisecond))

	sender, err := push.NewSender(cfg)
	if err != nil {
		b.Fatal(err)
	}
	jobstest.Start(b, f.db, jobs.Options{Sender: sender}, f.svc)
	var peakHeap, peakRSS uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			peakRSS = max(peakRSS, residentBytes())
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()

	sent := time.Now()
	_, recipients, err := f.svc.StartCampaign(f.ctx, lead, CampaignFilter{ServicePointID: f.sp, Enrolled: true}, tpl.ID)
	if err != nil || recipients != n {
		b.Fatalf("campaign to %d recipients, %v", recipients, err)
	}
	for deadline := time.Now().Add(50 * time.Minute); accepted.Load() < int64(n); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pushes accepted", accepted.Load(), n)
		}
	}
	elapsed := time.Unix(0, last.Load()).Sub(sent)
	close(stop)
	<-sampled
	time.Sleep(time.Second)
	if got := accepted.Load(); got != int64(n) {
		b.Errorf("%d pushes for %d recipients", got, n)
	}
	b.ReportMetric(elapsed.Seconds(), "s-to-last-push")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "pushes/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MiB-heap-peak")
	b.ReportMetric(float64(peakRSS)/(1<<20), "MiB-RSS-peak")
}

// residentBytes is this process's resident set, from /proc (0 elsewhere).
func residentBytes() uint64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
