package synth

import (
	"fmt"
	"time"
)

// Params set the size and the character of a world. The same Params give the
// same world, byte for byte.
type Params struct {
	Seed     uint64    `json:"seed"`
	Groups   int       `json:"groups"`   // groups in all, including those created during the window
	Products int       `json:"products"` // products in all, including launches during the window
	Days     int       `json:"days"`     // length of the window in days
	Start    time.Time `json:"start"`    // first day of the window (UTC midnight)

	// TasteConcentration scales how much persona tastes matter (higher: more
	// peaked preferences, personalisation pays more).
	TasteConcentration float64 `json:"taste_concentration"`
	// PriceSensitivity scales every persona's price sensitivity.
	PriceSensitivity float64 `json:"price_sensitivity"`
	// RandomShare is the share of lists shown in uniformly random order.
	RandomShare float64 `json:"random_share"`
	// ConversionPerPush is the expected orders of a typical list push on day 0
	// (the scale b0 is solved to meet it).
	ConversionPerPush float64 `json:"conversion_per_push"`
	// OrganicPerGroupDay is the mean organic orders a group of typical scale places a day.
	OrganicPerGroupDay float64 `json:"organic_per_group_day"`
	// PushesPerGroupDay is the mean pushes of an active promoter into one group a day.
	PushesPerGroupDay float64 `json:"pushes_per_group_day"`
	// NewGroupShare is the share of Groups created during the window.
	NewGroupShare float64 `json:"new_group_share"`
	// WorldVersion selects the world's mechanics: 2 (the default) has
	// commission rates that depend on the category and a per-persona response
	// to absolute price, calibrated to docs/data.md's plausibility checks; 1 is
	// the first world (one commission range for every category, a weak
	// absolute price response), kept for comparison. A world.json without it
	// is version 1.
	WorldVersion int `json:"world_version"`
}

// CurrentWorldVersion is the version DefaultParams generates.
const CurrentWorldVersion = 2

// DefaultParams is the small world the demo and the tests use.
func DefaultParams() Params {
	return Params{
		Seed: 1, Groups: 5000, Products: 3000, Days: 14,
		Start:              time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		TasteConcentration: 1.0, PriceSensitivity: 1.0, RandomShare: 0.05,
		ConversionPerPush: 0.24, OrganicPerGroupDay: 0.22, PushesPerGroupDay: 2.6, NewGroupShare: 0.15,
		WorldVersion: CurrentWorldVersion,
	}
}

// Validate refuses parameters that cannot make a world.
func (p *Params) Validate() error {
	switch {
	case p.Groups < 10 || p.Groups > 1<<24:
		return fmt.Errorf("synth: groups must be within 10..%d, got %d", 1<<24, p.Groups)
	case p.Products < 50 || p.Products > 1<<22:
		return fmt.Errorf("synth: products must be within 50..%d, got %d", 1<<22, p.Products)
	case p.Days < 1 || p.Days > 3650:
		return fmt.Errorf("synth: days must be within 1..3650, got %d", p.Days)
	case p.TasteConcentration <= 0 || p.TasteConcentration > 10:
		return fmt.Errorf("synth: taste concentration must be in (0, 10], got %g", p.TasteConcentration)
	case p.PriceSensitivity < 0 || p.PriceSensitivity > 10:
		return fmt.Errorf("synth: price sensitivity must be in [0, 10], got %g", p.PriceSensitivity)
	case p.RandomShare < 0 || p.RandomShare > 1:
		return fmt.Errorf("synth: random share must be in [0, 1], got %g", p.RandomShare)
	case p.ConversionPerPush <= 0 || p.ConversionPerPush > 5:
		return fmt.Errorf("synth: conversion per push must be in (0, 5], got %g", p.ConversionPerPush)
	case p.OrganicPerGroupDay < 0 || p.PushesPerGroupDay <= 0 || p.PushesPerGroupDay > 20:
		return fmt.Errorf("synth: organic orders must be >= 0 and pushes per group-day in (0, 20]")
	case p.NewGroupShare < 0 || p.NewGroupShare >= 1:
		return fmt.Errorf("synth: new group share must be in [0, 1), got %g", p.NewGroupShare)
	case p.WorldVersion < 1 || p.WorldVersion > CurrentWorldVersion:
		return fmt.Errorf("synth: world version must be within 1..%d, got %d", CurrentWorldVersion, p.WorldVersion)
	case p.Start.IsZero() || p.Start.Year() < 2000:
		return fmt.Errorf("synth: start must be a date after 2000, got %v", p.Start)
	}
	return nil
}
