package templates

// A View is a page, or one named fragment of it, that the handlers render.
// Every View is declared below, and Load fails when its page file or its
// fragment is missing, so a wrong name stops start-up instead of a request.
type View struct {
	page     string // file name without .html
	fragment string // a template the page defines; "" for the whole page
}

// Page is the whole page the view belongs to.
func (v View) Page() View { return View{page: v.page} }

// Content is the page's main content without the layout: what an HTMX
// request that replaces the whole of #main receives.
func (v View) Content() View { return View{page: v.page, fragment: "content"} }

func (v View) String() string {
	if v.fragment == "" {
		return v.page
	}
	return v.page + "/" + v.fragment
}

// views lists every declared View, for Load to check.
var views []View

func page(name string) View {
	v := View{page: name}
	views = append(views, v)
	return v
}

func (v View) part(name string) View {
	f := View{page: v.page, fragment: name}
	views = append(views, f)
	return f
}

// The pages, each followed by the fragments that HTMX requests swap.
var (
	Admin           = page("admin")
	AdminPayments   = page("admin_payments")
	AdminEvents     = page("admin_events")
	AdminEvent      = page("admin_event")
	AdminEventMerge = page("admin_event_merge")
	AdminUsers      = page("admin_users")
	AdminSuspend    = page("admin_suspend")
	AdminLog        = page("admin_log")
	AdminMail       = page("admin_mail")
	Alerts          = page("alerts")
	Unsubscribe     = page("unsubscribe")
	Error           = page("error")

	Checkin         = page("checkin")
	CheckinCounts   = Checkin.part("checkin-counts")
	CheckinScanned  = Checkin.part("checkin-scanned")
	AccountPassword = page("account_password")
	PasswordForgot  = page("password_forgot")
	PasswordReset   = page("password_reset")
	VerifyEmail     = page("verify_email")

	Checkout       = page("checkout")
	CheckoutDetail = Checkout.part("checkout")

	Event         = page("event")
	EventListings = Event.part("listings")

	Home        = page("home")
	HomeListing = Home.part("listing")
	HomeEvents  = Home.part("events")

	MyTickets     = page("my_tickets")
	MyTicketsList = MyTickets.part("my-tickets")

	Order       = page("order")
	OrderDetail = Order.part("order")
	OrderCancel = page("order_cancel")
	Orders      = page("orders")
	Payments    = page("payments")
	Payouts     = page("payouts")

	PayoutsBuiltinOnboarding = page("payouts_builtin_onboarding")

	ResaleForm = page("resale_form")
	Pass       = page("pass")

	SignIn     = page("signin")
	SignInForm = SignIn.part("signin-form")
	SignUp     = page("signup")
	SignUpForm = SignUp.part("signup-form")

	Ticket    = page("ticket")
	TicketBuy = Ticket.part("buy")

	TicketForm       = page("ticket_form")
	TicketFormFields = TicketForm.part("ticket-form")
	TicketFormPicker = TicketForm.part("event-picker")
)
