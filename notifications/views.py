def _stub(*a, **k):
    raise NotImplementedError


preferences = unsubscribe = sms_receipt = outbox = detail = resend = client_history = (
    client_phone
) = templates = template_edit = campaigns = campaign_send = _stub
