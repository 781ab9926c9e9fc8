"""Vigia notifier: carries out the actions pipelines publish (``notifier.actions``) through an
organization's channels — webhook, e-mail, Telegram, WhatsApp, Modbus — once per recipient, with
retries through delay queues, per-channel rate limits and every attempt recorded.

Modules: ``settings``, ``channels`` (channel rows, decrypted and cached), ``deliveries`` (the
delivery and attempt rows: claim, lease, result), ``messages`` (Jinja2 templates and signed
links), ``ratelimit`` (Redis token bucket), ``handler`` (one action, start to end), ``app``
(start-up).
"""
