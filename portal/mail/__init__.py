"""E-mail the portal sends itself: settings, composing, queueing and delivery. No Flask."""
