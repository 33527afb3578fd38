package data

import (
	"fmt"
	"strings"
)

// Channel is the kind of promoter who runs a group; each kind has its own app and crowd.
type Channel uint8

// Promoter channels. ChannelUnknown is for sources that do not say.
const (
	ChannelUnknown    Channel = iota
	ChannelMother             // stay-at-home mothers and small resellers: friends and family
	ChannelCourier            // delivery couriers: the households on their route
	ChannelInstaller          // home-service, installation and repair workers: their customers
	ChannelStoreGuide         // brands' in-store sales guides: their store's customers
	ChannelCampus             // campus promoters: students
	ChannelOther              // any other promoter
)

var channelNames = [...]string{"unknown", "mother", "courier", "installer", "store_guide", "campus", "other"}

// Channels lists every known channel (without ChannelUnknown), in code order.
var Channels = []Channel{ChannelMother, ChannelCourier, ChannelInstaller, ChannelStoreGuide, ChannelCampus, ChannelOther}

func (c Channel) String() string {
	if int(c) < len(channelNames) {
		return channelNames[c]
	}
	return fmt.Sprintf("channel(%d)", uint8(c))
}

// Valid reports whether c is one of the defined channels (ChannelUnknown included).
func (c Channel) Valid() bool { return int(c) < len(channelNames) }

// ParseChannel reads a channel name as String writes it ("" reads as unknown).
func ParseChannel(s string) (Channel, error) {
	return parseEnum[Channel](s, channelNames[:], "channel")
}

// CityTier is a Chinese city tier, 1 (the largest cities) to 6 (small towns); TierUnknown is 0.
type CityTier uint8

// TierUnknown marks a group whose city tier is not known. Known tiers are 1..MaxTier.
const (
	TierUnknown CityTier = 0
	MaxTier     CityTier = 6
)

// Valid reports whether t is TierUnknown or 1..MaxTier.
func (t CityTier) Valid() bool { return t <= MaxTier }

// SellerType says who sells a product: the retailer itself or a third-party (POP) seller.
type SellerType uint8

// Seller types.
const (
	SellerUnknown SellerType = iota
	SellerSelf               // self-operated: the retailer's own stock; pricier, little or no commission
	SellerPOP                // third-party (POP) seller: cheap, sets its own, usually higher, commission
)

var sellerNames = [...]string{"unknown", "self", "pop"}

func (s SellerType) String() string {
	if int(s) < len(sellerNames) {
		return sellerNames[s]
	}
	return fmt.Sprintf("seller(%d)", uint8(s))
}

// Valid reports whether s is a defined seller type.
func (s SellerType) Valid() bool { return int(s) < len(sellerNames) }

// ParseSellerType reads a seller type as String writes it.
func ParseSellerType(s string) (SellerType, error) {
	return parseEnum[SellerType](s, sellerNames[:], "seller type")
}

// OrderStatus is where an order ended up.
type OrderStatus uint8

// Order statuses.
const (
	StatusPlaced    OrderStatus = iota // placed and not undone
	StatusCancelled                    // cancelled before shipping
	StatusRefunded                     // returned and refunded
)

var statusNames = [...]string{"placed", "cancelled", "refunded"}

func (s OrderStatus) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Valid reports whether s is a defined status.
func (s OrderStatus) Valid() bool { return int(s) < len(statusNames) }

// ParseOrderStatus reads a status as String writes it ("" reads as placed).
func ParseOrderStatus(s string) (OrderStatus, error) {
	return parseEnum[OrderStatus](s, statusNames[:], "order status")
}

// ChangeKind says what a CatalogChange did to a product.
type ChangeKind uint8

// Catalogue change kinds.
const (
	ChangeNew        ChangeKind = iota // the product enters the catalogue
	ChangePrice                        // its price changed
	ChangeCommission                   // its commission rate changed
	ChangeStock                        // it went out of stock or came back
	ChangeRetire                       // it left the catalogue
	ChangeUpdate                       // any other edit (title, reviews, several fields at once)
)

var changeNames = [...]string{"new", "price", "commission", "stock", "retire", "update"}

func (k ChangeKind) String() string {
	if int(k) < len(changeNames) {
		return changeNames[k]
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Valid reports whether k is a defined change kind.
func (k ChangeKind) Valid() bool { return int(k) < len(changeNames) }

// ParseChangeKind reads a change kind as String writes it.
func ParseChangeKind(s string) (ChangeKind, error) {
	return parseEnum[ChangeKind](s, changeNames[:], "change kind")
}

func parseEnum[E ~uint8](s string, names []string, what string) (E, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	for i, n := range names {
		if n == s {
			return E(i), nil
		}
	}
	valid := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			valid = append(valid, n)
		}
	}
	return 0, fmt.Errorf("%w: %s %q: want one of %s", ErrInvalid, what, s, strings.Join(valid, ", "))
}
