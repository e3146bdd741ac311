package tasks

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
)

// CreateByHand records a task a staff member writes themselves, at a
// service point where they work. With no assignee it goes to the client's
// responsible expert, else to the pool.
func (s *Service) CreateByHand(ctx context.Context, actor auth.Principal, n New) (Task, error) {
	n.Kind, n.By, n.SourceKey = KindManual, actor.StaffID, ""
	if n.ServicePointID == 0 {
		return Task{}, ErrInvalid
	}
	var t Task
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(n.ServicePointID)); err != nil {
			return err
		}
		var err error
		t, _, err = s.Create(ctx, tx, n)
		return err
	})
	return t, err
}

// Claim takes a task for the actor and starts it: one from the pool, or
// one already theirs. Whoever claims first wins; a later claim gets
// ErrTaken with the task as it now is (who has it).
func (s *Service) Claim(ctx context.Context, actor auth.Principal, id int64) (Task, error) {
	var out Task
	err := s.onTask(ctx, actor, id, func(tx sqldb.Tx, t Task) error {
		switch {
		case t.Status.Closed():
			out = t
			return ErrClosed
		case t.AssigneeID != 0 && t.AssigneeID != actor.StaffID:
			out = t
			return ErrTaken
		case t.AssigneeID == actor.StaffID && t.Status == InProgress:
			out = t
			return nil
		}
		var err error
		out, err = s.change(ctx, tx, t, `assignee_id = $2, status = 'in_progress'`, actor.StaffID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, out, t.AssigneeID, actor.StaffID, ActionClaimed, 0, "")
	})
	return out, err
}

// Assign gives a task to a staff member who works at its service point, or
// back to the pool (to 0). The new assignee is told by push unless they
// assigned it themselves.
func (s *Service) Assign(ctx context.Context, actor auth.Principal, id, to int64) (Task, error) {
	var out Task
	err := s.onTask(ctx, actor, id, func(tx sqldb.Tx, t Task) error {
		if t.Status.Closed() {
			out = t
			return ErrClosed
		}
		if t.AssigneeID == to {
			out = t
			return nil
		}
		if to != 0 {
			var ok bool
			if err := tx.QueryRow(ctx, `WITH sp AS (SELECT $2::bigint AS id)
				SELECT EXISTS (SELECT 1 FROM staff s WHERE s.id = $1 AND s.active AND `+canWorkAt+`)`,
				to, t.ServicePointID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return ErrBadAssignee
			}
		}
		// Whoever gets it starts from open, and is told again when it is
		// overdue; one who takes it themselves has started.
		status := Open
		if to == actor.StaffID {
			status = InProgress
		}
		var err error
		out, err = s.change(ctx, tx, t, `assignee_id = nullif($2, 0), status = $3, overdue_notified_at = NULL`, to, status)
		if err != nil {
			return err
		}
		action := ActionAssigned
		if to == 0 {
			action = ActionReleased
		}
		if err := s.record(ctx, tx, out, t.AssigneeID, actor.StaffID, action, to, ""); err != nil {
			return err
		}
		if to != 0 && to != actor.StaffID {
			return s.enqueueNotice(ctx, tx, out.ID, to, NoticeAssigned)
		}
		return nil
	})
	return out, err
}

// Comment adds a comment to a task's history; closed tasks take comments
// too (a note on what happened afterwards).
func (s *Service) Comment(ctx context.Context, actor auth.Principal, id int64, text string) (Task, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return Task{}, ErrNoComment
	case utf8.RuneCountInString(text) > MaxComment:
		return Task{}, ErrTooLong
	}
	var out Task
	err := s.onTask(ctx, actor, id, func(tx sqldb.Tx, t Task) error {
		var err error
		if out, err = s.change(ctx, tx, t, ""); err != nil {
			return err
		}
		return s.record(ctx, tx, out, t.AssigneeID, actor.StaffID, ActionCommented, 0, text)
	})
	return out, err
}

// Complete marks a task done, with an optional closing comment. A task
// done straight from the pool becomes the actor's.
func (s *Service) Complete(ctx context.Context, actor auth.Principal, id int64, comment string) (Task, error) {
	return s.Close(ctx, actor, id, Done, comment, 0)
}

// Cancel closes a task that needs no doing, with an optional reason.
func (s *Service) Cancel(ctx context.Context, actor auth.Principal, id int64, reason string) (Task, error) {
	return s.Close(ctx, actor, id, Cancelled, reason, 0)
}

// Close closes a task as Done or Cancelled with an optional comment.
// ifVersion, when not 0, refuses (sqldb.ErrStale) a task changed since the
// caller read that version.
func (s *Service) Close(ctx context.Context, actor auth.Principal, id int64, to Status, comment string, ifVersion int) (Task, error) {
	action := map[Status]string{Done: ActionDone, Cancelled: ActionCancelled}[to]
	comment = strings.TrimSpace(comment)
	switch {
	case action == "":
		return Task{}, ErrInvalid
	case utf8.RuneCountInString(comment) > MaxComment:
		return Task{}, ErrTooLong
	}
	var out Task
	err := s.onTask(ctx, actor, id, func(tx sqldb.Tx, t Task) error {
		if ifVersion != 0 && ifVersion != t.Version {
			out = t
			return sqldb.ErrStale
		}
		if t.Status.Closed() {
			out = t
			return ErrClosed
		}
		var err error
		out, err = s.change(ctx, tx, t, `status = $2, closed_at = $3, assignee_id = coalesce(assignee_id, nullif($4, 0))`,
			to, s.clock(), actor.StaffID)
		if err != nil {
			return err
		}
		if to == Done {
			if err := s.emit(ctx, tx, events.TaskDone, out); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, out, t.AssigneeID, actor.StaffID, action, 0, comment)
	})
	return out, err
}

// change applies set (an SQL SET list over $2…, or nothing) to task t, stamps it
// updated, and returns it as it now is.
func (s *Service) change(ctx context.Context, tx sqldb.Tx, t Task, set string, args ...any) (Task, error) {
	if set != "" {
		set += ", "
	}
	return scanTask(tx.QueryRow(ctx, `WITH t AS (UPDATE tasks SET `+set+`updated_at = $`+strconv.Itoa(len(args)+2)+`
		WHERE id = $1 RETURNING *) SELECT `+taskCols+` FROM t`+taskJoins,
		append(append([]any{t.ID}, args...), s.clock())...))
}

// record writes the history line of a change and announces it to the
// screens of the task's service point and of its assignee, now and before.
func (s *Service) record(ctx context.Context, tx sqldb.Tx, t Task, formerAssignee, by int64, action string, to int64, comment string) error {
	if err := addEvent(ctx, tx, t.ID, by, action, to, comment); err != nil {
		return err
	}
	return s.announce(ctx, tx, EventChanged, t, formerAssignee)
}
