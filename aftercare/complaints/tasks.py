"""Background jobs (django-tasks). Deadline reminders and escalation come with the complaint workflow."""
