// Package client is the Go client of grouprank's picks service, for promoter
// apps: picks for a group and event reporting, with the service's errors as
// *Error values.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"grouprank/data"
)

// Client talks to one grouprank service.
type Client struct {
	base   string
	http   *http.Client
	apiKey string
}

// WithAPIKey returns a client that sends the app's key (X-API-Key) with
// picks and events, for services that require one.
func (c *Client) WithAPIKey(key string) *Client {
	out := *c
	out.apiKey = key
	return &out
}

// New returns a client of the service at baseURL (e.g. "http://127.0.0.1:8080").
// A nil httpClient means one with a 5-second timeout.
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: httpClient}
}

// Error is a response the service refused, with its status and message.
type Error struct {
	Status    int
	Message   string
	RequestID string
	// Problems are a rejected batch's invalid entries: each one's index in
	// the batch and what is wrong with it.
	Problems []Problem
}

// Problem is one invalid entry of a batch.
type Problem struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("grouprank: %d: %s (request %s)", e.Status, e.Message, e.RequestID)
	for _, p := range e.Problems {
		msg += fmt.Sprintf("; entry %d: %s", p.Index, p.Error)
	}
	return msg
}

// PicksOptions narrow a picks request; zero values mean the service's defaults.
type PicksOptions struct {
	K                  int
	Category           string
	Exclude            []data.SKU
	PriceMin, PriceMax int64 // cents
	Objective          string
	Explain            bool
	// Channel and Tier describe a group the service may not know.
	Channel data.Channel
	Tier    data.CityTier
	// CategoryCap is the most picks of one category (0: no cap).
	CategoryCap int
	// Promoter is the group's promoter: experiments randomised by promoter need it.
	Promoter data.PromoterID
	// Members are the members of a group the service may not know (their
	// ids: the user's own for a world imported with its own ids), whose
	// orders rank for it.
	Members []string
}

// Picks is the service's answer (see /openapi.yaml).
type Picks struct {
	RequestID    string       `json:"request_id"`
	Group        data.GroupID `json:"group"`
	GroupID      string       `json:"group_id,omitempty"` // the user's own id, for a world imported with its own ids
	ModelVersion string       `json:"model_version"`
	Objective    string       `json:"objective"`
	ColdStart    bool         `json:"cold_start"`
	// Explored is true for a list drawn at random (the service's
	// exploration): log it with each item's propensity like any other.
	Explored bool   `json:"explored"`
	Items    []Item `json:"items"`
	// Experiment and Arm are the first experiment the group is in (by
	// layer), Experiments every one: report them with the pushes.
	Experiment  string          `json:"experiment,omitempty"`
	Arm         string          `json:"arm,omitempty"`
	Experiments []ExperimentArm `json:"experiments,omitempty"`
}

// ExperimentArm is a group's arm in one experiment.
type ExperimentArm struct {
	Experiment string `json:"experiment"`
	Arm        string `json:"arm"`
}

// Item is one pick, with the parts of its score.
type Item struct {
	SKU               data.SKU `json:"sku"`
	ItemID            string   `json:"item_id,omitempty"` // the user's own id, for a world imported with its own ids
	Title             string   `json:"title"`
	Category          string   `json:"category"`
	PriceCents        *int64   `json:"price_cents"`      // nil when the price is not known
	CommissionCents   *int64   `json:"commission_cents"` // nil when the price or the commission rate is not known
	Rating            *float64 `json:"rating"`           // good-review rate; nil without reviews
	Reason            string   `json:"reason"`
	Propensity        float64  `json:"propensity"` // probability that the serving policy shows this item at this rank
	P                 float64  `json:"p"`
	ExpectedOrders    float64  `json:"expected_orders"`
	LogExpectedOrders float64  `json:"log_expected_orders"`
	PriceTerm         float64  `json:"price"`
	CommissionTerm    float64  `json:"commission"`
	RatingTerm        float64  `json:"rating_term"`
	Score             float64  `json:"score"`
}

// Picks asks for the top picks of a group, by grouprank's id.
func (c *Client) Picks(ctx context.Context, group data.GroupID, o PicksOptions) (*Picks, error) {
	return c.picks(ctx, strconv.FormatInt(int64(group), 10), o)
}

// PicksByName asks for the top picks of a group by the user's own id, for a
// model whose world was imported with its own ids (import --ids, import
// grouprec, import beibei).
func (c *Client) PicksByName(ctx context.Context, group string, o PicksOptions) (*Picks, error) {
	return c.picks(ctx, url.PathEscape(group), o)
}

func (c *Client) picks(ctx context.Context, group string, o PicksOptions) (*Picks, error) {
	q := url.Values{}
	if o.K > 0 {
		q.Set("k", strconv.Itoa(o.K))
	}
	if o.Category != "" {
		q.Set("category", o.Category)
	}
	if len(o.Exclude) > 0 {
		s := make([]string, len(o.Exclude))
		for k, sku := range o.Exclude {
			s[k] = strconv.FormatInt(int64(sku), 10)
		}
		q.Set("exclude", strings.Join(s, ","))
	}
	if o.PriceMin > 0 {
		q.Set("price_min", strconv.FormatInt(o.PriceMin, 10))
	}
	if o.PriceMax > 0 {
		q.Set("price_max", strconv.FormatInt(o.PriceMax, 10))
	}
	if o.Objective != "" {
		q.Set("objective", o.Objective)
	}
	if o.Explain {
		q.Set("explain", "true")
	}
	if o.Channel != data.ChannelUnknown {
		q.Set("channel", o.Channel.String())
	}
	if o.Tier != data.TierUnknown {
		q.Set("tier", strconv.Itoa(int(o.Tier)))
	}
	if o.CategoryCap > 0 {
		q.Set("category_cap", strconv.Itoa(o.CategoryCap))
	}
	if o.Promoter > 0 {
		q.Set("promoter", strconv.FormatInt(int64(o.Promoter), 10))
	}
	if len(o.Members) > 0 {
		q.Set("members", strings.Join(o.Members, ","))
	}
	var out Picks
	err := c.do(ctx, "GET", fmt.Sprintf("/v1/groups/%s/picks?%s", group, q.Encode()), nil, &out)
	return &out, err
}

// Event is an event as the service takes it.
type Event struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Group       int64     `json:"group"`
	Buyer       int64     `json:"buyer,omitempty"`  // orders and cancels: the member who ordered
	Member      int64     `json:"member,omitempty"` // joins and leaves: the member
	SKU         int64     `json:"sku,omitempty"`
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id,omitempty"`
	Rank        int32     `json:"rank,omitempty"`
	Push        int64     `json:"push,omitempty"`
	Order       int64     `json:"order,omitempty"`
	Quantity    int32     `json:"quantity,omitempty"`
	AmountCents int64     `json:"amount_cents,omitempty"`
}

// EventOf converts a data.Event.
func EventOf(e data.Event) Event {
	out := Event{ID: e.ID, Kind: e.Kind.String(), Group: int64(e.Group), SKU: int64(e.SKU), Time: e.Time.Time(), RequestID: e.RequestID,
		Rank: e.Rank, Push: int64(e.Push), Order: int64(e.Order), Quantity: e.Quantity, AmountCents: e.AmountCents}
	if e.Kind.Membership() {
		out.Member = int64(e.Buyer)
	} else {
		out.Buyer = int64(e.Buyer)
	}
	return out
}

// NamedEvent is an event of a world imported with its own ids: its group,
// buyer, member, SKU, push and order are the user's ids ("" when absent; an
// order with no group is the buyer's own, placed outside any group).
type NamedEvent struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Group       string    `json:"group,omitempty"`
	Buyer       string    `json:"buyer,omitempty"`
	Member      string    `json:"member,omitempty"`
	SKU         string    `json:"sku,omitempty"`
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id,omitempty"`
	Rank        int32     `json:"rank,omitempty"`
	Push        string    `json:"push,omitempty"`
	Order       string    `json:"order,omitempty"`
	Quantity    int32     `json:"quantity,omitempty"`
	AmountCents int64     `json:"amount_cents,omitempty"`
}

// SendEvents reports a batch (all stored or none); it returns how many were
// new and how many the service had already.
func (c *Client) SendEvents(ctx context.Context, events []Event) (accepted, duplicates int, err error) {
	return c.sendEvents(ctx, events)
}

// SendNamedEvents is SendEvents for a world with its own ids.
func (c *Client) SendNamedEvents(ctx context.Context, events []NamedEvent) (accepted, duplicates int, err error) {
	return c.sendEvents(ctx, events)
}

func (c *Client) sendEvents(ctx context.Context, events any) (accepted, duplicates int, err error) {
	b, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		return 0, 0, err
	}
	var out struct{ Accepted, Duplicates int }
	err = c.do(ctx, "POST", "/v1/events", b, &out)
	return out.Accepted, out.Duplicates, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	return c.doAuth(ctx, method, path, "", body, out)
}

func (c *Client) doAuth(ctx context.Context, method, path, token string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error     string    `json:"error"`
			RequestID string    `json:"request_id"`
			Problems  []Problem `json:"problems"`
		}
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &Error{Status: resp.StatusCode, Message: e.Error, RequestID: e.RequestID, Problems: e.Problems}
	}
	return json.Unmarshal(b, out)
}

// Product is a catalogue update on the wire: the product's whole new state
// (the service decodes the same type).
type Product = data.ProductUpdate

// ProductOf converts a data.Product.
func ProductOf(p data.Product) Product { return data.UpdateOf(p) }

// UpdateCatalog sends catalogue updates with the admin token; the batch is
// applied whole or not at all.
func (c *Client) UpdateCatalog(ctx context.Context, token string, ps []Product) (added, updated int, err error) {
	b, err := json.Marshal(map[string]any{"products": ps})
	if err != nil {
		return 0, 0, err
	}
	var out struct{ Added, Updated int }
	err = c.doAuth(ctx, "POST", "/v1/admin/catalog", token, b, &out)
	return out.Added, out.Updated, err
}
