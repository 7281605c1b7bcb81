"""网上预约: halls, their places per half-day and item group, booking a visit, the booking's QR and the clerk's 签到."""
