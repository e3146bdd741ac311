package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/koto-portal/portal/internal/push"
)

// ErrPushOff is the permanent failure of a push job on an instance without
// VAPID keys.
var ErrPushOff = errors.New("jobs: Web Push is off")

// errStale says the news came too late: the message's TTL, counted from
// when its job was enqueued, has passed.
var errStale = errors.New("jobs: the message is stale")

// errAttemptsSpent says River would not try again.
var errAttemptsSpent = errors.New("jobs: no attempts left")

// Topic is the sender's opaque Topic for name; see push.Sender.Topic.
func (s *Service) Topic(name string) string {
	if s.opts.Sender == nil {
		return ""
	}
	return s.opts.Sender.Topic(name)
}

// Push sends msg to a stored subscription (the browser's JSON) as one
// attempt of job, and says what comes next. gone reports that the
// subscription is of no more use, as the push service has forgotten it
// (404 or 410) or it no longer passes the sender's policy: the caller
// deletes it, and returns the error. Otherwise the error
// is what the worker hands back to River: nil once sent; a snooze that
// honours Retry-After on 429 (and on a 5xx that carries one); a plain error
// on other 5xx and network failures, which River retries with backoff; a
// cancel when trying again cannot help (another 4xx, 413 payload too
// large when msg has no Shorter form or that too is refused, a
// subscription or message refused here, the news stale, the attempts
// spent). A payload found too large is sent again at once in its Shorter
// form. Such a failure is logged with the push service's host
// only, never the endpoint's path or keys, and counted.
//
// A non-zero msg.TTL counts from when the job was enqueued: a message
// delayed by retries or a restart is held by the push service only for
// what is left of it, and not sent at all once it is over.
func (s *Service) Push(ctx context.Context, job *rivertype.JobRow, subscription []byte, msg push.Message) (gone bool, err error) {
	if s.opts.Sender == nil {
		return false, s.failed(job, push.Subscription{}, 0, ErrPushOff)
	}
	sub, err := s.opts.Sender.ParseSubscription(subscription)
	if err != nil {
		return true, s.failed(job, sub, 0, err)
	}
	now := time.Now()
	// Without a TTL the message may go out late, but snoozes on 429 (which
	// River does not count as attempts) still end.
	deadline := job.CreatedAt.Add(push.MaxTTL)
	if msg.TTL > 0 {
		deadline = job.CreatedAt.Add(msg.TTL)
		msg.TTL = deadline.Sub(now).Truncate(time.Second)
		if msg.TTL <= 0 {
			return false, s.failed(job, sub, 0, errStale)
		}
	}
	out := s.opts.Sender.Send(ctx, sub, msg)
	if errors.Is(out.Err, push.ErrPayloadTooLarge) && msg.Shorter != nil {
		s.metrics.pushes.WithLabelValues(job.Kind, "shortened").Inc()
		msg.Payload, msg.Shorter = msg.Shorter, nil
		out = s.opts.Sender.Send(ctx, sub, msg)
	}
	switch out.Kind {
	case push.Sent:
		s.metrics.pushes.WithLabelValues(job.Kind, "sent").Inc()
		return false, nil
	case push.Gone:
		s.metrics.pushes.WithLabelValues(job.Kind, "gone").Inc()
		return true, nil
	case push.RetryAfter, push.Retry:
		wait := out.RetryAfter
		if now.Add(wait).After(deadline) {
			return false, s.failed(job, sub, out.StatusCode, fmt.Errorf("%w: %w", errStale, out.Err))
		}
		if wait > 0 {
			// A snooze is not an attempt: the push service asked for the
			// pause, so it does not count as this job failing.
			s.metrics.pushes.WithLabelValues(job.Kind, "retry").Inc()
			return false, river.JobSnooze(wait)
		}
		if job.Attempt >= job.MaxAttempts {
			return false, s.failed(job, sub, out.StatusCode, fmt.Errorf("%w: %w", errAttemptsSpent, out.Err))
		}
		s.metrics.pushes.WithLabelValues(job.Kind, "retry").Inc()
		return false, out.Err
	default:
		return false, s.failed(job, sub, out.StatusCode, out.Err)
	}
}

// failed logs and counts a push that will never be sent, and cancels its
// job so River does not try again.
func (s *Service) failed(job *rivertype.JobRow, sub push.Subscription, status int, err error) error {
	s.metrics.pushes.WithLabelValues(job.Kind, "failed").Inc()
	reason := "refused"
	switch {
	case errors.Is(err, push.ErrPayloadTooLarge):
		reason = "payload too large"
	case errors.Is(err, errStale):
		reason = "stale"
	case errors.Is(err, errAttemptsSpent):
		reason = "attempts spent"
	case errors.Is(err, push.ErrInvalidSubscription):
		reason = "subscription refused"
	case errors.Is(err, ErrPushOff):
		reason = "push off"
	}
	// The errors of package push name the host only; sub logs as its host.
	s.logger.Warn("push failed for good", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt,
		"reason", reason, "status", status, "push_service", sub, "err", err)
	return river.JobCancel(err)
}
