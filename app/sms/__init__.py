"""短信: text messages to residents' phones, through the backend SMS_BACKEND names."""
