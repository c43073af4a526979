"""The appointment pages by section: `booking` (calendar, free starts, booking form and page, list, waitlist,
parts), `measures`, `day` (capacity settings, the day board, the open-bookings import, roadside rescue) and
`self_booking` (the customer's public page behind the signed link)."""
