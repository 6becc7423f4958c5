"""Operations: skill routing, SLA clocks and the escalation ladder, notifications, CSAT, inactivity, reports."""
