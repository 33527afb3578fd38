package train

import (
	"fmt"
	"time"

	"grouprank/data"
)

// WindowConfig sets the conversion model's windows in whole days, counted
// back from the end of the data: [T3, End) tests, [T2, T3) calibrates,
// [T1, T2) trains, and everything before T1 builds profiles, statistics and
// factors.
type WindowConfig struct {
	TrainDays, CalibDays, TestDays int
	Attribution                    data.Timestamp // attribution window (DefaultAttributionWindow when 0)
}

// DefaultWindowConfig trains on 7 days, calibrates on 5 and tests on 5.
// Each loses its last 72 hours to the attribution window.
func DefaultWindowConfig() WindowConfig {
	return WindowConfig{TrainDays: 7, CalibDays: 5, TestDays: 5, Attribution: data.DefaultAttributionWindow}
}

// Split places the windows in [first, end). It refuses windows that would
// hold no push once the attribution window is cut from their end, and a
// profile window shorter than a day.
func (c WindowConfig) Split(first, end data.Timestamp) (data.Windows, error) {
	if c.Attribution <= 0 {
		c.Attribution = data.DefaultAttributionWindow
	}
	for _, d := range []struct {
		name string
		days int
	}{{"train", c.TrainDays}, {"calibration", c.CalibDays}, {"test", c.TestDays}} {
		if data.Timestamp(d.days)*data.Day <= c.Attribution {
			return data.Windows{}, fmt.Errorf("the %s window (%d days) must be longer than the attribution window (%s): its pushes would all be dropped",
				d.name, d.days, time.Duration(c.Attribution)*time.Millisecond)
		}
	}
	w := data.Windows{From: first, End: end, Serve: end, Attribution: c.Attribution}
	w.T3 = end - data.Timestamp(c.TestDays)*data.Day
	w.T2 = w.T3 - data.Timestamp(c.CalibDays)*data.Day
	w.T1 = w.T2 - data.Timestamp(c.TrainDays)*data.Day
	if w.T1-first < data.Day {
		return data.Windows{}, fmt.Errorf("the data span %s to %s is too short for %d+%d+%d days of windows and at least a day of history before them",
			first, end, c.TrainDays, c.CalibDays, c.TestDays)
	}
	return w, nil
}

// Part says which window a push belongs to.
type Part uint8

// The windows a push can fall in.
const (
	PartNone  Part = iota // before T1, or dropped because its attribution window runs past its window's end
	PartTrain             // [T1, T2)
	PartCalib             // [T2, T3)
	PartTest              // [T3, End)
)

// PartOf places a push at t: in a window only when its whole attribution
// window lies inside that window.
func PartOf(w data.Windows, t data.Timestamp) Part {
	if t == data.UnknownTime {
		return PartNone
	}
	in := func(from, to data.Timestamp) bool { return t >= from && t+w.Attribution <= to }
	switch {
	case in(w.T1, w.T2):
		return PartTrain
	case in(w.T2, w.T3):
		return PartCalib
	case in(w.T3, w.End):
		return PartTest
	}
	return PartNone
}
