"""Writes of the renewals app, by section: `generation` (cases, contacts due, imported renewals, lapses),
`work` (claim, assign, contacts, outcomes), `configuration` (settings, gifts), `reminders`, `claims`,
`sheets` (the follow-up sheet's export and import)."""
