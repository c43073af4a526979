"""Writes for follow-up calls, one module a section; import the module you need
(`from aftercare.followups.services import claiming`, `from aftercare.followups.services.generation import …`).

`rules` (store settings, default rules, deadlines), `generation` (tasks from events, `followup_task_create`),
`claiming`, `attempts` (a call on a claimed task), `logs` (call and letter logs kept by hand, exports),
`scoring` (questionnaire scores, answer sheets), `questionnaires` (template versions, import, export).
Reads are in `aftercare/followups/selectors.py`.
"""
