package queue

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// State is a service point's queue as its screens draw it at one moment.
type State struct {
	ServicePointID int64 `json:"service_point_id"`
	// ServiceDay is today in the service point's time zone (midnight UTC).
	ServiceDay time.Time `json:"service_day"`
	// Open tells the kiosk whether tickets can be taken; OpensAt is the next
	// opening when closed (nil when always open or never opening).
	Open    bool       `json:"open"`
	OpensAt *time.Time `json:"opens_at,omitempty"`
	// Waiting is today's waiting tickets by arrival, positions from 1.
	Waiting []WaitingTicket `json:"waiting"`
	// Active is the tickets called or being served, most recently called first.
	Active []Ticket `json:"active"`
	// Topics counts waiting tickets per topic: every active topic, plus any
	// retired topic that still has someone waiting.
	Topics []TopicCount `json:"topics"`
	// RecentCalls is the last calls to a desk, newest first, for the display.
	RecentCalls []Ticket `json:"recent_calls"`
	// Seq is the live sequence of SPChannel read before the queue: apply
	// events with a higher seq on top (idempotently, as one may repeat).
	Seq int64 `json:"seq"`
}

// WaitingTicket is a waiting ticket with its place in the whole line.
type WaitingTicket struct {
	Ticket
	Position int `json:"position"`
}

// TopicCount is how many wait for one topic.
type TopicCount struct {
	TopicID int64  `json:"topic_id"`
	Prefix  string `json:"prefix"`
	Waiting int    `json:"waiting"`
}

// Snapshot reads a service point's queue for a staff screen or the display.
func (s *Service) Snapshot(ctx context.Context, tenant, spID int64) (State, error) {
	var st State
	err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		sp, err := s.loadServicePoint(ctx, tx, spID)
		if err != nil {
			return err
		}
		st, err = s.snapshot(ctx, tx, sp)
		return err
	})
	if err != nil {
		return State{}, err
	}
	return st, nil
}

// Board is the expert's queue screen: the service point with its desks
// and topics (switched-off ones too: a ticket may carry one), and its queue.
type Board struct {
	Point  org.ServicePoint
	Desks  []org.Desk
	Topics []org.Topic
	State
}

// Board reads the expert's queue screen in one transaction.
func (s *Service) Board(ctx context.Context, e Expert) (Board, error) {
	var b Board
	err := s.atWork(ctx, e, func(tx sqldb.Tx, sp servicePoint) error {
		var err error
		if b.Point, err = org.GetServicePoint(ctx, tx, sp.id); err != nil {
			return err
		}
		if b.Desks, err = org.ListDesks(ctx, tx, sp.id); err != nil {
			return err
		}
		if b.Topics, err = org.ListTopics(ctx, tx, sp.id, false); err != nil {
			return err
		}
		b.State, err = s.snapshot(ctx, tx, sp)
		return err
	})
	if err != nil {
		return Board{}, err
	}
	return b, nil
}

// snapshot reads the queue of a service point in the caller's transaction.
func (s *Service) snapshot(ctx context.Context, tx sqldb.Tx, sp servicePoint) (State, error) {
	spID := sp.id
	// Read committed: the seq goes first, so a change that lands between
	// the two reads is seen twice at worst, never missed.
	seq, err := live.CurrentSeq(ctx, tx, SPChannel(spID))
	if err != nil {
		return State{}, err
	}
	now := s.clock()
	local := now.In(sp.loc)
	st := State{ServicePointID: spID, ServiceDay: sp.serviceDay(now), Seq: seq,
		Waiting: []WaitingTicket{}, Active: []Ticket{}, Topics: []TopicCount{}, RecentCalls: []Ticket{}}
	st.Open, st.OpensAt = sp.opening(local)
	// One statement, so the lists agree with each other: the open tickets
	// and the latest calls, which include every call that may be shown.
	rows, err := tx.Query(ctx, `SELECT `+ticketCols+ticketFrom+`
		WHERE t.id IN (
			SELECT id FROM tickets
			WHERE service_point_id = $1 AND service_day = $2 AND state IN ('waiting', 'called', 'serving')
			UNION ALL
			(SELECT id FROM tickets
			 WHERE service_point_id = $1 AND service_day = $2 AND last_called_at IS NOT NULL AND desk_id IS NOT NULL
			 ORDER BY last_called_at DESC LIMIT $3))
		ORDER BY t.created_at, t.id`, spID, st.ServiceDay, s.RecentCalls)
	if err != nil {
		return State{}, err
	}
	tickets, err := collectTickets(rows)
	if err != nil {
		return State{}, err
	}
	var called []Ticket
	for _, t := range tickets {
		switch t.State {
		case Waiting:
			st.Waiting = append(st.Waiting, WaitingTicket{Ticket: t, Position: len(st.Waiting) + 1})
		case Called, Serving:
			st.Active = append(st.Active, t)
		}
		if t.LastCalledAt != nil && t.DeskID != nil {
			called = append(called, t)
		}
	}
	byLastCall := func(a, b Ticket) int { return lastCall(b).Compare(lastCall(a)) }
	slices.SortStableFunc(called, byLastCall)
	st.RecentCalls = append(st.RecentCalls, called[:min(len(called), s.RecentCalls)]...)
	slices.SortStableFunc(st.Active, byLastCall)
	st.Topics, err = topicCounts(ctx, tx, spID, st.Waiting)
	return st, err
}

func topicCounts(ctx context.Context, tx sqldb.Tx, spID int64, waiting []WaitingTicket) ([]TopicCount, error) {
	counts := map[int64]int{}
	for _, w := range waiting {
		counts[w.TopicID]++
	}
	rows, err := tx.Query(ctx, `SELECT id, prefix, active FROM topics WHERE service_point_id = $1 ORDER BY position, id`, spID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TopicCount{}
	for rows.Next() {
		var tc TopicCount
		var active bool
		if err := rows.Scan(&tc.TopicID, &tc.Prefix, &active); err != nil {
			return nil, err
		}
		tc.Waiting = counts[tc.TopicID]
		if active || tc.Waiting > 0 {
			out = append(out, tc)
		}
	}
	return out, rows.Err()
}

// opening tells whether the service point is open at local and, if not,
// when it opens next (nil when always open or never opening).
func (sp servicePoint) opening(local time.Time) (bool, *time.Time) {
	if sp.hours.OpenAt(local) {
		return true, nil
	}
	if next := sp.hours.NextOpening(local); !next.IsZero() {
		return false, &next
	}
	return false, nil
}

// View is what a visitor's phone shows for their ticket.
type View struct {
	Ticket Ticket `json:"ticket"`
	// Ahead counts the waiting tickets of the same topic that arrived earlier
	// and may be called before this one; Position is Ahead+1 while waiting.
	Ahead    int `json:"ahead"`
	Position int `json:"position"`
	// WaitMin and WaitMax are the estimate's range (both 0 once called).
	WaitMin time.Duration `json:"wait_min"`
	WaitMax time.Duration `json:"wait_max"`
	// TicketSeq and QueueSeq are the live sequences of TicketChannel and
	// SPChannel, read before the ticket.
	TicketSeq int64 `json:"ticket_seq"`
	QueueSeq  int64 `json:"queue_seq"`
	// PlaceNames and TopicLabels are the service point's name and the
	// topic's label in every language, for the phone's page (ByToken).
	PlaceNames  org.Labels `json:"-"`
	TopicLabels org.Labels `json:"-"`
}

// tokenTenant finds which tenant a follow token belongs to, before any
// tenant is set; an unknown and an expired token look the same.
func (s *Service) tokenTenant(ctx context.Context, hash []byte) (int64, error) {
	var tenant *int64
	err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_ticket_tenant($1)`, hash).Scan(&tenant)
	})
	if err != nil {
		return 0, err
	}
	if tenant == nil {
		return 0, ErrNotFound
	}
	return *tenant, nil
}

// ticketByHash reads the ticket of a live token within the tenant.
func (s *Service) ticketByHash(ctx context.Context, tx sqldb.Tx, hash []byte, lock bool) (Ticket, error) {
	q := `SELECT ` + ticketCols + ticketFrom + ` WHERE t.token_hash = $1 AND t.token_expires_at > $2`
	if lock {
		q += ` FOR UPDATE OF t`
	}
	t, err := scanTicket(tx.QueryRow(ctx, q, hash, s.clock()))
	if errors.Is(err, sqldb.ErrNoRows) {
		return Ticket{}, ErrNotFound
	}
	return t, err
}

// ByToken reads a ticket for the phone that holds its follow link. Unknown,
// malformed and expired tokens are all ErrNotFound.
func (s *Service) ByToken(ctx context.Context, token string) (int64, View, error) {
	hash, err := parseToken(token)
	if err != nil {
		return 0, View{}, err
	}
	var tenant int64
	var v View
	err = s.db.InTenantOf(ctx, `SELECT koto_ticket_tenant($1)`, hash, func(tx sqldb.Tx) error {
		// The channels are named by ids the token leads to; find those first
		// and read the seqs before the ticket itself.
		var id, spID int64
		err := tx.QueryRow(ctx, `SELECT t.id, t.service_point_id, t.municipality_id, sp.names, tp.labels
			FROM tickets t JOIN service_points sp ON sp.id = t.service_point_id JOIN topics tp ON tp.id = t.topic_id
			WHERE t.token_hash = $1`, hash).Scan(&id, &spID, &tenant, &v.PlaceNames, &v.TopicLabels)
		if err != nil {
			if errors.Is(err, sqldb.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if v.QueueSeq, err = live.CurrentSeq(ctx, tx, SPChannel(spID)); err != nil {
			return err
		}
		if v.TicketSeq, err = live.CurrentSeq(ctx, tx, TicketChannel(id)); err != nil {
			return err
		}
		if v.Ticket, err = s.ticketByHash(ctx, tx, hash, false); err != nil {
			return err
		}
		if v.Ticket.State != Waiting {
			return nil
		}
		if v.Ahead, err = ahead(ctx, tx, v.Ticket); err != nil {
			return err
		}
		v.Position = v.Ahead + 1
		v.WaitMin, v.WaitMax, err = s.Estimate(ctx, tx, spID, v.Ticket.TopicID, v.Ahead)
		return err
	})
	if errors.Is(err, sqldb.ErrNoTenant) {
		return 0, View{}, ErrNotFound
	}
	if err != nil {
		return 0, View{}, err
	}
	return tenant, v, nil
}

// ahead counts who will be called before t by the simple, honest rule the
// phone can explain: same topic, earlier arrival, not kept for another desk.
// Language priority may still let someone pass, so this is a guide.
func ahead(ctx context.Context, tx sqldb.Tx, t Ticket) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `
		SELECT count(*) FROM tickets
		WHERE service_point_id = $1 AND service_day = $2 AND topic_id = $3 AND state = 'waiting'
		  AND (created_at, id) < ($4, $5)
		  AND (for_desk_id IS NULL OR for_desk_id IS NOT DISTINCT FROM $6)`,
		t.ServicePointID, t.ServiceDay, t.TopicID, t.CreatedAt, t.ID, t.ForDeskID).Scan(&n)
	return n, err
}

// Tunables of the wait estimate.
const (
	// DefaultServiceTime is assumed when a service point has too little history.
	DefaultServiceTime = 10 * time.Minute
	// estimateSamples recent services give the median; fewer than
	// estimateMinSamples are too few to trust over the wider fallback.
	estimateSamples    = 50
	estimateMinSamples = 5
	estimateHistory    = 14 * 24 * time.Hour
	// An expert counts as working if they called someone this recently.
	expertWindow = time.Hour
	// The range is ±35 % around the centre, rounded outwards to 5 minutes:
	// a visitor is better served by an honest span than a false minute.
	estimateSpread = 0.35
	estimateStep   = 5 * time.Minute
)

// Estimate gives the range of a wait behind ahead people for a topic: the
// median of recent service times (of the topic, else of the service point,
// else DefaultServiceTime) times ahead plus half a service (whoever is being
// served now is on average half done), shared among the experts who called
// someone in the last hour. The pace is read at most every paceTTL.
func (s *Service) Estimate(ctx context.Context, tx sqldb.Tx, spID, topicID int64, ahead int) (minWait, maxWait time.Duration, err error) {
	now := s.clock()
	p, ok := s.paces.get(spID, topicID, now)
	if !ok {
		if p, err = readPace(ctx, tx, spID, topicID, now); err != nil {
			return 0, 0, err
		}
		s.paces.put(spID, topicID, p)
	}
	minWait, maxWait = waitRange(p.service, max(p.experts, 1), max(ahead, 0))
	return minWait, maxWait, nil
}

// readPace reads a topic's pace from the history: the median of recent
// service times (of the topic, else of the service point, else
// DefaultServiceTime) and the experts who called someone in the last hour.
func readPace(ctx context.Context, tx sqldb.Tx, spID, topicID int64, now time.Time) (pace, error) {
	var topicMedian, spMedian *float64
	var topicN, spN, experts int
	// Each part reads at most estimateSamples rows through its own index,
	// and the experts the last hour's calls: the same few rows whether the
	// history holds a day or years.
	err := tx.QueryRow(ctx, `
		SELECT tp.median, tp.n, sp.median, sp.n, e.experts
		FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS median, count(*) AS n
		      FROM (SELECT extract(epoch FROM finished_at - serving_at)::float8 AS secs FROM tickets
		            WHERE service_point_id = $1 AND topic_id = $2 AND state = 'done' AND finished_at > $3
		              AND serving_at IS NOT NULL
		            ORDER BY finished_at DESC LIMIT $5) r) tp,
		     (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS median, count(*) AS n
		      FROM (SELECT extract(epoch FROM finished_at - serving_at)::float8 AS secs FROM tickets
		            WHERE service_point_id = $1 AND state = 'done' AND finished_at > $3 AND serving_at IS NOT NULL
		            ORDER BY finished_at DESC LIMIT $5) r) sp,
		     (SELECT count(DISTINCT staff_id) AS experts FROM tickets
		      WHERE service_point_id = $1 AND called_at > $4 AND staff_id IS NOT NULL) e`,
		spID, topicID, now.Add(-estimateHistory), now.Add(-expertWindow), estimateSamples).
		Scan(&topicMedian, &topicN, &spMedian, &spN, &experts)
	if err != nil {
		return pace{}, err
	}
	service := DefaultServiceTime
	switch {
	case topicMedian != nil && topicN >= estimateMinSamples:
		service = time.Duration(*topicMedian * float64(time.Second))
	case spMedian != nil && spN >= estimateMinSamples:
		service = time.Duration(*spMedian * float64(time.Second))
	}
	// A service shorter than a minute is a click-through, not a pace.
	return pace{service: max(service, time.Minute), experts: experts, read: now}, nil
}

// waitRange turns a per-visitor service time into the shown range.
func waitRange(service time.Duration, experts, ahead int) (minWait, maxWait time.Duration) {
	centre := (float64(ahead) + 0.5) * float64(service) / float64(experts)
	step := float64(estimateStep)
	lo := time.Duration(math.Floor(centre*(1-estimateSpread)/step) * step)
	hi := time.Duration(math.Ceil(centre*(1+estimateSpread)/step) * step)
	return max(lo, 0), max(hi, estimateStep)
}

func lastCall(t Ticket) time.Time {
	if t.LastCalledAt == nil {
		return time.Time{}
	}
	return *t.LastCalledAt
}
