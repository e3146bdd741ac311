package portal

// routes lists every route of the portal, top to bottom. Middleware that
// applies to all of them is in New; the staff group adds the login check.
func (s *Server) routes() {
	a := s.app
	// Operations and assets.
	a.Get("/healthz", s.showHealth)
	a.Get("/readyz", s.showReadiness)
	a.Get("/static/*", s.serveStatic)
	a.Get("/sw.js", s.serveServiceWorker)
	a.Get("/manifest.webmanifest", s.serveManifest)
	a.Get("/favicon.ico", s.serveFavicon)
	a.Get("/icon.svg", s.serveFavicon)

	// Public pages.
	a.Get("/", s.showStartPage)
	a.Get("/login", s.showLoginPage)
	a.Post("/login", s.submitLogin)
	a.Post("/logout", s.submitLogout)
	// Sign-in through a municipality's own provider (OpenID Connect).
	a.Get("/login/oidc/callback", s.finishProviderSignin)
	a.Get("/login/oidc/:municipality", s.startProviderSignin)
	// The second step of a password sign-in: the second factor.
	a.Get("/login/verify", s.requireVerifying, s.showVerifyPage)
	a.Post("/login/verify/totp", s.requireVerifying, s.submitVerifyTOTP)
	a.Post("/login/verify/recovery", s.requireVerifying, s.submitVerifyRecovery)
	a.Post("/login/verify/passkey", s.requireVerifying, s.submitVerifyPasskey)
	// A staff member's one-time link to choose their password.
	a.Get("/password/:token", s.showPasswordForm)
	a.Post("/password/:token", s.submitPassword)

	// Devices: pairing, the kiosk and the waiting-room display.
	a.Get("/kiosk/pair", s.showPairPage)
	a.Post("/kiosk/pair", s.submitPairCode)
	a.Get("/display/pair", s.showPairPage)
	a.Post("/display/pair", s.submitPairCode)
	a.Get("/kiosk/:sp", s.showKiosk)
	a.Post("/kiosk/:sp/tickets", s.submitTicket)
	a.Get("/kiosk/:sp/checkin", s.showCheckIn)
	a.Post("/kiosk/:sp/checkin", s.submitCheckIn)
	a.Post("/kiosk/:sp/checkin/frame", s.submitCheckInFrame)
	a.Get("/display/:sp", s.showDisplay)

	// The visitor's phone, following a ticket by its capability link.
	a.Get("/t/:token", s.showTicketFollow)
	a.Post("/t/:token/cancel", s.submitTicketCancel)
	a.Post("/t/:token/push", s.submitTicketPush)

	// The client's phone: an enrolment link binds it once, then its own
	// credential opens the client's page.
	a.Get("/e/:token", s.showEnrol)
	a.Post("/e/:token", s.submitEnrol)
	a.Get("/c/:cred", s.showClientHome)
	a.Post("/c/:cred/answers", s.submitClientAnswer)
	a.Post("/c/:cred/forget", s.submitClientForget)
	a.Post("/c/:cred/reminders", s.submitClientReminders)
	a.Post("/c/:cred/push", s.submitClientPush)
	a.Post("/c/:cred/receipts", s.submitClientReceipt)
	a.Get("/c/:cred/manifest.webmanifest", s.serveClientManifest)

	// JSON for the live screens, and their websocket.
	a.Get("/api/v1/tickets/:token", s.apiTicketSnapshot)
	a.Get("/api/v1/queue/:sp", s.apiQueueSnapshot)
	a.Get("/ws", s.upgradeWebsocket, s.serveWebsocket())

	// The JSON API for municipal systems: its contract and reference page,
	// then every call of the contract (generated glue, see api.go) behind
	// the key check.
	a.Get("/api/v1/openapi.json", s.serveContract)
	a.Get("/api/v1/docs", s.showAPIDocs)
	s.registerAPI(a.Group(apiBase, s.authenticateKey))

	// Setting up a second factor: from the account page, or before
	// anything else when the municipality requires one (allowEnrolment).
	en := a.Group("/staff/account/factors", s.allowEnrolment)
	en.Get("/", s.showFactorSetup)
	en.Get("/totp", s.showTOTPSetup)
	en.Post("/totp", s.submitTOTPSetup)
	en.Get("/passkey", s.showPasskeySetup)
	en.Post("/passkey", s.submitPasskeySetup)

	// Staff.
	st := a.Group("/staff", s.requireStaff)
	st.Get("/", s.showStaffHome)
	st.Get("/queue/:sp", s.showQueue)
	st.Post("/queue/:sp/call-next", s.submitCallNext)
	st.Post("/queue/:sp/tickets/:id/call", s.submitCall)
	st.Post("/queue/:sp/tickets/:id/recall", s.submitRecall)
	st.Post("/queue/:sp/tickets/:id/no-show", s.submitNoShow)
	st.Post("/queue/:sp/tickets/:id/start", s.submitStart)
	st.Post("/queue/:sp/tickets/:id/finish", s.submitFinish)
	st.Post("/queue/:sp/tickets/:id/transfer", s.submitTransfer)
	st.Post("/queue/:sp/tickets/:id/return", s.submitReturn)
	st.Get("/visits/new", s.showVisitForm)
	st.Post("/visits", s.submitVisit)
	st.Get("/clients", s.showClients)
	st.Get("/clients/new", s.showClientForm)
	st.Post("/clients/new", s.submitClient)
	// Leads and admins import clients from the municipality's own system.
	st.Get("/clients/import", s.showClientImport)
	st.Post("/clients/import", s.submitClientImport)
	st.Get("/clients/:id", s.showClient)
	st.Get("/clients/:id/edit", s.showClientForm)
	st.Post("/clients/:id/edit", s.submitClient)
	st.Post("/clients/:id/expert", s.submitClientExpert)
	st.Post("/clients/:id/end", s.submitClientEnd)
	st.Post("/clients/:id/continue", s.submitClientContinue)
	st.Post("/clients/:id/contacts", s.submitContact)
	st.Get("/clients/:id/contacts/:contact", s.showContactForm)
	st.Post("/clients/:id/contacts/:contact", s.submitContactCorrection)
	// A data subject's requests: admins only.
	st.Get("/clients/:id/export", s.exportClient)
	st.Get("/clients/:id/access-log", s.showClientAccessLog)
	st.Get("/clients/:id/erase", s.showEraseClient)
	st.Post("/clients/:id/erase", s.submitEraseClient)
	// Appointments: booked from a client's page, worked at the service point.
	st.Get("/clients/:id/appointments/new", s.showBookingForm)
	st.Post("/clients/:id/appointments", s.submitBooking)
	// Outreach: a client's phone is enrolled from their page.
	st.Post("/clients/:id/enrolments", s.submitEnrolment)
	st.Post("/clients/:id/enrolments/revoke", s.submitEnrolmentRevoke)
	// Messages to the client's phones, now or at a chosen time.
	st.Get("/clients/:id/messages", s.showClientMessages)
	st.Post("/clients/:id/messages", s.submitClientMessage)
	st.Post("/clients/:id/messages/:msg/cancel", s.submitClientMessageCancel)
	st.Get("/appointments", s.showMyDay)
	st.Get("/appointments/at/:sp", s.showPointDay)
	st.Get("/appointments/:id", s.showAppointment)
	st.Get("/appointments/:id/letter", s.showLetter)
	for _, act := range statusActions {
		st.Post("/appointments/:id/"+act.path, s.submitAppointmentStatus(act.status))
	}
	st.Get("/tasks", s.showMyTasks)
	st.Get("/tasks/count", s.apiTaskBadge)
	st.Get("/tasks/new", s.showTaskForm)
	st.Post("/tasks", s.submitTask)
	st.Get("/tasks/pool/:sp", s.showTaskPool)
	st.Get("/tasks/load/:sp", s.showTaskLoad)
	st.Get("/tasks/:id", s.showTask)
	st.Post("/tasks/:id/claim", s.submitTaskClaim)
	st.Post("/tasks/:id/assign", s.submitTaskAssign)
	st.Post("/tasks/:id/comment", s.submitTaskComment)
	st.Post("/tasks/:id/complete", s.submitTaskComplete)
	st.Post("/tasks/:id/cancel", s.submitTaskCancel)
	st.Get("/clients/:id/summary", s.showClientSummary)
	st.Get("/settings", s.showStaffSettings)
	st.Post("/settings/push", s.submitStaffPush)
	st.Post("/settings/devices/:id/remove", s.submitStaffDeviceRemove)
	st.Get("/stats", s.showStats)
	st.Get("/stats.csv", s.exportStats)

	// My account.
	st.Get("/account", s.showAccount)
	st.Post("/account/password", s.submitAccountPassword)
	st.Post("/account/language", s.submitAccountLanguage)
	st.Post("/account/sessions/end-others", s.submitEndOtherSessions)
	st.Post("/account/totp/remove", s.submitRemoveTOTP)
	st.Post("/account/passkeys/:id/remove", s.submitRemovePasskey)
	st.Post("/account/recovery-codes", s.submitNewRecoveryCodes)

	// Set-up by leads and admins.
	st.Get("/setup", s.showSetup)
	st.Get("/setup/new", s.showServicePointForm)
	st.Post("/setup/new", s.submitServicePoint)
	st.Get("/setup/:sp", s.showServicePointForm)
	st.Post("/setup/:sp", s.submitServicePoint)
	st.Post("/setup/:sp/desks", s.submitDesk)
	st.Post("/setup/:sp/desks/:id", s.submitDesk)
	st.Get("/setup/:sp/topics/new", s.showTopicForm)
	st.Post("/setup/:sp/topics/new", s.submitTopic)
	st.Get("/setup/:sp/topics/:id", s.showTopicForm)
	st.Post("/setup/:sp/topics/:id", s.submitTopic)
	st.Post("/setup/:sp/referrals", s.submitReferral)
	st.Post("/setup/:sp/referrals/:id", s.submitReferral)
	st.Get("/setup/:sp/appointments", s.showCheckInSetup)
	st.Post("/setup/:sp/appointments", s.submitCheckInSetup)
	st.Get("/setup/:sp/devices", s.showDevices)
	st.Post("/setup/:sp/devices", s.submitDevice)
	st.Post("/setup/:sp/devices/:id/code", s.submitDeviceCode)
	st.Post("/setup/:sp/devices/:id/revoke", s.submitDeviceRevoke)
	// Message templates of the municipality: leads and admins.
	st.Get("/message-templates", s.showMessageTemplates)
	st.Post("/message-templates", s.submitMessageTemplate)
	st.Get("/message-templates/:id", s.showMessageTemplate)
	st.Post("/message-templates/:id", s.submitMessageTemplateVersion)
	// Campaigns: one template to a filtered set of a service point's
	// clients, by its leads and admins.
	st.Get("/campaigns", s.showCampaigns)
	st.Post("/campaigns/preview", s.submitCampaignPreview)
	st.Post("/campaigns", s.submitCampaign)
	st.Post("/campaigns/:id/cancel", s.submitCampaignCancel)
	st.Get("/people", s.showPeople)
	st.Get("/people/new", s.showPersonForm)
	st.Post("/people/new", s.submitPerson)
	st.Get("/people/:id", s.showPersonForm)
	st.Post("/people/:id", s.submitPerson)
	st.Post("/people/:id/reset-link", s.submitResetLink)
	st.Post("/people/:id/clear-factors", s.submitClearFactors)
	st.Get("/signin-settings", s.showSigninSettings)
	st.Post("/signin-settings", s.submitSigninSettings)
	st.Get("/access-log", s.showAccessLog)
	st.Get("/translations", s.showTranslations)

	// The JSON API's keys and webhooks: the municipality's admins.
	st.Get("/api-keys", s.showAPIKeys)
	st.Post("/api-keys", s.submitAPIKey)
	st.Post("/api-keys/:id/revoke", s.submitAPIKeyRevoke)
	st.Get("/webhooks", s.showWebhooks)
	st.Post("/webhooks", s.submitWebhook)
	st.Get("/webhooks/:id", s.showWebhook)
	st.Post("/webhooks/:id/test", s.submitWebhookTest)
	st.Post("/webhooks/:id/enable", s.submitWebhookSwitch(true))
	st.Post("/webhooks/:id/disable", s.submitWebhookSwitch(false))
	st.Post("/webhooks/:id/delete", s.submitWebhookDelete)
}
