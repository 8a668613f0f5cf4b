"""Outbound SMS for every service: phone numbers, gateway adapters (Kannel HTTP, SMPP), the durable send queue."""

from shared.sms.gateways import (
    GatewayError,
    KannelHttpGateway,
    SmppGateway,
    SmsGateway,
    Submitted,
)
from shared.sms.phones import InvalidPhone, mobile_number
from shared.sms.queue import SmsMessage, SmsQueueMixin, SmsSender, SmsState, enqueue
from shared.sms.settings import SmsSettings, build_gateways, build_sender

__all__ = [
    "GatewayError",
    "InvalidPhone",
    "KannelHttpGateway",
    "SmppGateway",
    "SmsGateway",
    "SmsMessage",
    "SmsQueueMixin",
    "SmsSender",
    "SmsSettings",
    "SmsState",
    "Submitted",
    "build_gateways",
    "build_sender",
    "enqueue",
    "mobile_number",
]
