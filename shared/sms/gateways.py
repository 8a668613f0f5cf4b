"""The SMS gateway interface and its two shipped adapters: Kannel's HTTP `sendsms` and SMPP 3.4 (smpplib)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx
import smpplib.client
import smpplib.command
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm

# Kannel's dlr-mask bits: 1 delivered, 2 undelivered, 4 buffered, 8 accepted by the SMSC, 16 refused by it
KANNEL_DLR_MASK = 1 | 2 | 4 | 8 | 16
# SMPP errors worth another try later (throttled, queue full, system error); the others are final
SMPP_TRANSIENT = frozenset({0x08, 0x14, 0x58, 0x64})


class GatewayError(Exception):
    """A send the gateway did not take; `transient` says whether a retry may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Submitted:
    """The gateway took the message; `reference` is its id for it when it gives one."""

    reference: str | None = None


class SmsGateway(Protocol):
    """Hands one message to an SMS gateway; raises GatewayError when it is not taken."""

    name: str

    async def send(self, message_id: int, phone: str, text: str, sender: str) -> Submitted: ...

    async def close(self) -> None: ...


def dlr_signature(secret: str, message_id: int) -> str:
    """The token a delivery-report URL carries, so no one else can mark our messages delivered."""
    return hmac.new(secret.encode(), str(message_id).encode(), hashlib.sha256).hexdigest()[:32]


class KannelHttpGateway:
    """Kannel's smsbox `GET /cgi-bin/sendsms`, UCS-2 text, delivery reports to `dlr_url` (our HTTP endpoint)."""

    name = "kannel"

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        dlr_url: str | None = None,
        dlr_secret: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = base_url.rstrip("/") + "/cgi-bin/sendsms"
        self._username = username
        self._password = password
        self._dlr_url = dlr_url if dlr_url and dlr_secret else None
        self._dlr_secret = dlr_secret or ""
        self._client = httpx.AsyncClient(timeout=timeout)

    def _params(self, message_id: int, phone: str, text: str, sender: str) -> dict[str, str]:
        params = {
            "username": self._username,
            "password": self._password,
            "from": sender,
            "to": phone,
            "text": text,
            "charset": "UTF-8",
            "coding": "2",  # UCS-2: Chinese text
        }
        if self._dlr_url:
            query = urlencode({"id": message_id, "sig": dlr_signature(self._dlr_secret, message_id)})
            # Kannel fills %d (the report's type), %T (its time) and %A (the SMSC's answer)
            params["dlr-mask"] = str(KANNEL_DLR_MASK)
            params["dlr-url"] = f"{self._dlr_url}?{query}&status=%d&at=%T&answer=%A"
        return params

    async def send(self, message_id: int, phone: str, text: str, sender: str) -> Submitted:
        try:
            response = await self._client.get(self._url, params=self._params(message_id, phone, text, sender))
        except httpx.HTTPError as error:
            raise GatewayError(f"kannel unreachable: {type(error).__name__}", transient=True) from None
        body = response.text.strip()[:200]
        if response.status_code == 202 or (response.status_code == 200 and body.startswith("0:")):
            return Submitted()
        # 503: Kannel's queue is full or its SMSC is down; 4xx: the request itself is wrong
        transient = response.status_code >= 500
        raise GatewayError(f"kannel answered {response.status_code}: {body}", transient=transient)

    async def close(self) -> None:
        await self._client.aclose()


class SmppGateway:
    """An SMPP 3.4 transmitter (smpplib, run in a thread): connect, bind, submit_sm each part, unbind.

    One connection per message keeps it simple and robust at the hotline's volume (a few notices
    a minute); a busy branch would keep a bound session open instead.
    """

    name = "smpp"

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._system_id = system_id
        self._password = password
        self._system_type = system_type
        self._timeout = timeout

    def _send_blocking(self, phone: str, text: str, sender: str) -> Submitted:
        client = smpplib.client.Client(self._host, self._port, timeout=self._timeout, allow_unknown_opt_params=True)
        references: list[str] = []

        def on_sent(pdu: smpplib.command.Command) -> None:
            reference = getattr(pdu, "message_id", b"") or b""
            if reference:
                references.append(reference.decode(errors="replace"))

        client.set_message_sent_handler(on_sent)
        try:
            client.connect()
            client.bind_transmitter(system_id=self._system_id, password=self._password, system_type=self._system_type)
            parts, coding, esm_class = smpplib.gsm.make_parts(text)
            for part in parts:
                client.send_message(
                    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM if not sender.isdigit() else 0,
                    source_addr=sender,
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    destination_addr=phone.lstrip("+"),
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=False,
                )
                client.read_once()  # the submit_sm_resp (a non-zero status raises PDUError)
            try:
                client.unbind()
            except (smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError, OSError):
                pass  # the message is in; a sloppy unbind changes nothing
        except smpplib.exceptions.PDUError as error:
            status = error.args[1] if len(error.args) > 1 else None
            transient = isinstance(status, int) and status in SMPP_TRANSIENT
            raise GatewayError(f"smsc refused the message: {error.args[0]}", transient=transient) from None
        except (TimeoutError, smpplib.exceptions.ConnectionError, OSError) as error:
            raise GatewayError(f"smsc unreachable: {type(error).__name__}", transient=True) from None
        finally:
            client.disconnect()
        return Submitted(",".join(references) or None)

    async def send(self, message_id: int, phone: str, text: str, sender: str) -> Submitted:
        return await asyncio.to_thread(self._send_blocking, phone, text, sender)

    async def close(self) -> None:
        return None
