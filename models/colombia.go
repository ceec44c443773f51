package models

import (
	"time"
	_ "time/tzdata" // the zone must load on a machine without a zone database
)

// Bogota is America/Bogota, the zone of Efipay's calendar: "today" for its
// date rules and the wall-clock times it writes without a zone.
var Bogota = mustLoadBogota()

func mustLoadBogota() *time.Location {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		panic("models: embedded zone database lacks America/Bogota: " + err.Error())
	}
	return loc
}
