package portal

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal/apiv1"
)

// The API's appointments and tasks: each handler reads its request, makes
// one call on the domain service, and answers with the resource and its
// ETag.

// appointmentOut is an appointment as the API shows it: ids, no names.
func appointmentOut(a appointments.Appointment) apiv1.Appointment {
	return apiv1.Appointment{Id: a.ID, ClientId: optionalID(a.ClientID), ServicePointId: a.ServicePointID, StaffId: a.StaffID,
		Channel: apiv1.AppointmentChannel(a.Channel), DeskId: a.DeskID, TopicId: a.TopicID, StartsAt: a.StartsAt.UTC(),
		DurationMinutes: a.Minutes, InterpreterLanguage: a.InterpreterLanguage, Status: apiv1.AppointmentStatus(a.Status),
		CheckInCode: a.Code, CreatedAt: a.CreatedAt.UTC()}
}

func sendAppointment(c *fiber.Ctx, status int, a appointments.Appointment) error {
	c.Set(fiber.HeaderETag, etag(a.Version))
	return c.Status(status).JSON(appointmentOut(a))
}

// BookAppointment answers POST /appointments.
func (h *apiHandlers) BookAppointment(c *fiber.Ctx, _ apiv1.BookAppointmentParams) error {
	in, err := decodeJSON[apiv1.AppointmentCreate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	a, err := h.s.appointments.Book(c.UserContext(), apiPrincipal(c), appointments.Booking{ClientID: in.ClientId,
		ServicePointID: in.ServicePointId, StaffID: in.StaffId, Channel: appointments.Channel(in.Channel),
		DeskID: derefID(in.DeskId), TopicID: derefID(in.TopicId), StartsAt: in.StartsAt, Minutes: in.DurationMinutes,
		InterpreterLanguage: deref(in.InterpreterLanguage), AllowOverlap: in.AllowOverlap != nil && *in.AllowOverlap})
	if errors.As(err, new(*appointments.DoubleBooking)) {
		return problemOf(http.StatusConflict, "double_booking",
			"The expert is already booked at that time; send allow_overlap: true to book anyway.")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, apiBase+"/appointments/"+strconv.FormatInt(a.ID, 10))
	return sendAppointment(c, http.StatusCreated, a)
}

// GetAppointment answers GET /appointments/{id}.
func (h *apiHandlers) GetAppointment(c *fiber.Ctx, id apiv1.AppointmentId) error {
	a, err := h.s.appointments.Get(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	return sendAppointment(c, http.StatusOK, a)
}

// UpdateAppointment answers PATCH /appointments/{id}: what happened to
// it, only with the ETag of the version it changes.
func (h *apiHandlers) UpdateAppointment(c *fiber.Ctx, id apiv1.AppointmentId, p apiv1.UpdateAppointmentParams) error {
	in, err := decodeJSON[apiv1.AppointmentUpdate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	version, err := ifMatch(p.IfMatch)
	if err != nil {
		return err
	}
	if !in.Status.Valid() {
		return invalid(fieldErr("status", "unknown_value", "Not a status the API records."))
	}
	a, err := h.s.appointments.SetStatus(c.UserContext(), apiPrincipal(c), id, appointments.Status(in.Status), version)
	if err != nil {
		return err
	}
	return sendAppointment(c, http.StatusOK, a)
}

// taskOut is a task as the API shows it: ids, no names.
func taskOut(t tasks.Task) apiv1.Task {
	out := apiv1.Task{Id: t.ID, ServicePointId: t.ServicePointID, Kind: apiv1.TaskKind(t.Kind), Title: t.Title,
		Details: t.Details, ClientId: optionalID(t.ClientID), AssigneeId: optionalID(t.AssigneeID),
		Priority: apiv1.TaskPriority(t.Priority), Status: apiv1.TaskStatus(t.Status), CreatedAt: t.CreatedAt.UTC(),
		UpdatedAt: t.UpdatedAt.UTC()}
	if !t.DueAt.IsZero() {
		out.DueAt = ptr(t.DueAt.UTC())
	}
	if t.ClosedAt != nil {
		out.ClosedAt = ptr(t.ClosedAt.UTC())
	}
	return out
}

func sendTask(c *fiber.Ctx, status int, t tasks.Task) error {
	c.Set(fiber.HeaderETag, etag(t.Version))
	return c.Status(status).JSON(taskOut(t))
}

// ListTasks answers GET /tasks.
func (h *apiHandlers) ListTasks(c *fiber.Ctx, p apiv1.ListTasksParams) error {
	var f tasks.Filter
	if p.Status != nil {
		if !p.Status.Valid() {
			return invalid(fieldErr("status", "unknown_value", "Not a task status."))
		}
		f.Status = tasks.Status(*p.Status)
	}
	l, err := h.s.tasks.AtPoint(c.UserContext(), apiPrincipal(c), p.ServicePointId, f)
	if err != nil {
		return err
	}
	out := apiv1.TaskList{Data: make([]apiv1.Task, len(l.Tasks)), More: l.More}
	for i, t := range l.Tasks {
		out.Data[i] = taskOut(t)
	}
	return c.JSON(out)
}

// CreateTask answers POST /tasks.
func (h *apiHandlers) CreateTask(c *fiber.Ctx, _ apiv1.CreateTaskParams) error {
	in, err := decodeJSON[apiv1.TaskCreate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	n := tasks.New{ServicePointID: in.ServicePointId, ClientID: derefID(in.ClientId), AssigneeID: derefID(in.AssigneeId),
		Title: in.Title, Details: deref(in.Details)}
	if in.Priority != nil {
		n.Priority = tasks.Priority(*in.Priority)
	}
	if in.DueAt != nil {
		n.DueAt = in.DueAt.Truncate(time.Microsecond)
	}
	t, err := h.s.tasks.CreateByHand(c.UserContext(), apiPrincipal(c), n)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, apiBase+"/tasks/"+strconv.FormatInt(t.ID, 10))
	return sendTask(c, http.StatusCreated, t)
}

// GetTask answers GET /tasks/{id}.
func (h *apiHandlers) GetTask(c *fiber.Ctx, id apiv1.TaskId) error {
	d, err := h.s.tasks.Get(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	return sendTask(c, http.StatusOK, d.Task)
}

// UpdateTask answers PATCH /tasks/{id}: done or cancelled, only with the
// ETag of the version it changes.
func (h *apiHandlers) UpdateTask(c *fiber.Ctx, id apiv1.TaskId, p apiv1.UpdateTaskParams) error {
	in, err := decodeJSON[apiv1.TaskUpdate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	version, err := ifMatch(p.IfMatch)
	if err != nil {
		return err
	}
	t, err := h.s.tasks.Close(c.UserContext(), apiPrincipal(c), id, tasks.Status(in.Status), deref(in.Comment), version)
	if err != nil {
		return err
	}
	return sendTask(c, http.StatusOK, t)
}
