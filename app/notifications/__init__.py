"""消息: the resident's inbox of case progress, their push devices, and the event → notification hook."""
