package data

// GroupID identifies a chat group.
type GroupID int64

// PromoterID identifies a promoter; one promoter may run several groups.
type PromoterID int64

// MemberID identifies a group member (a buyer). UnknownMember (0) stands for a buyer the source did not name.
type MemberID int64

// UnknownMember is the buyer of an order whose buyer is not known.
const UnknownMember MemberID = 0

// Group is one promoter-run chat group.
type Group struct {
	ID       GroupID    // > 0
	Promoter PromoterID // who runs it; > 0
	Channel  Channel    // the promoter's kind; ChannelUnknown when not known
	CityTier CityTier   // 1..6; TierUnknown when not known
	Created  Timestamp  // when the group was set up; UnknownTime when not known
}

// Validate checks every field; the error names the field and the reason.
func (g *Group) Validate() error {
	const r = "group"
	switch {
	case g.ID <= 0:
		return invalid(r, "group", "must be > 0, got %d", g.ID)
	case g.Promoter <= 0:
		return invalid(r, "promoter", "must be > 0, got %d", g.Promoter)
	case !g.Channel.Valid():
		return invalid(r, "channel", "unknown channel %d", g.Channel)
	case !g.CityTier.Valid():
		return invalid(r, "city_tier", "must be 0 (unknown) or 1..%d, got %d", MaxTier, g.CityTier)
	}
	return checkTime(r, "created", g.Created)
}

// Membership says a member belonged to a group from Joined until Left.
type Membership struct {
	Group  GroupID   // > 0
	Member MemberID  // > 0
	Joined Timestamp // UnknownTime when not known
	Left   Timestamp // UnknownTime while still a member
}

// Validate checks every field; the error names the field and the reason.
func (m *Membership) Validate() error {
	const r = "membership"
	switch {
	case m.Group <= 0:
		return invalid(r, "group", "must be > 0, got %d", m.Group)
	case m.Member <= 0:
		return invalid(r, "member", "must be > 0, got %d", m.Member)
	}
	if err := checkTime(r, "joined", m.Joined); err != nil {
		return err
	}
	if err := checkTime(r, "left", m.Left); err != nil {
		return err
	}
	if m.Joined != UnknownTime && m.Left != UnknownTime && m.Left < m.Joined {
		return invalid(r, "left", "%s is before joined %s", m.Left, m.Joined)
	}
	return nil
}
