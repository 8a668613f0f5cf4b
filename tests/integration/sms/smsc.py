"""A real SMPP 3.4 SMSC for the tests (the `smpp34` library's server): it takes binds and submit_sm, keeps every
message it was given (UCS-2 and GSM texts decoded, long ones joined from their parts) and sends the SMPP
delivery receipt (deliver_sm, esm_class 0x04) back to the ESME that submitted it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

import smpp34

from hotline.infra.cluster import free_port

# SMPP 3.4 §5.3.2 optional parameters of a receipt (the module exports them only at run time)
TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x001E, 0x0427
# the receipt's text, SMPP 3.4 Appendix B
_RECEIPT = "id:{id} sub:001 dlvrd:001 submit date:{at} done date:{at} stat:DELIVRD err:000 text:"


@dataclass(frozen=True)
class SmscMessage:
    message_id: str
    source: str
    destination: str
    text: str
    registered_delivery: int


def _decode(data_coding: int, payload: bytes) -> str:
    if data_coding == 0x08:
        return payload.decode("utf-16-be", errors="replace")
    return payload.decode("latin-1" if data_coding == 0x03 else "utf-8", errors="replace")


@dataclass
class SmppSmsc:
    """Run with `async with SmppSmsc() as smsc:`; `smsc.port` is where an ESME binds."""

    port: int = field(default_factory=free_port)
    messages: list[SmscMessage] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)  # message ids whose receipt the ESME acknowledged
    binds: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7001))
    _parts: dict[tuple[str, int], dict[int, str]] = field(default_factory=dict)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> SmppSmsc:
        self._server = smpp34.Server(host="127.0.0.1", port=self.port, system_id="TESTSMSC")
        await self._server.start()
        self._esmes: dict[str, smpp34.Esme] = {}
        self._task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._server.stop()

    async def _serve(self) -> None:
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._esmes[event.session_id] = event
                self.binds.append(event.system_id)
            elif isinstance(event, smpp34.SubmitSmEvent):
                message_id = str(next(self._ids))
                event.accept(message_id)
                text = self._text(event)
                if text is not None:
                    self.messages.append(
                        SmscMessage(
                            message_id, event.source_addr, event.destination_addr, text, event.registered_delivery
                        )
                    )
                if event.registered_delivery & 0x01:
                    task = asyncio.create_task(self._receipt(event.session_id, event, message_id))
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    def _text(self, event: smpp34.SubmitSmEvent) -> str | None:
        payload = event.short_message
        if not event.esm_class & 0x40:
            return _decode(event.data_coding, payload)
        # a part of a long message: a concatenation UDH (00 03 ref total seq) before the text
        udh_length = payload[0]
        udh, body = payload[1 : 1 + udh_length], payload[1 + udh_length :]
        reference, total, sequence = udh[2], udh[3], udh[4]
        parts = self._parts.setdefault((event.destination_addr, reference), {})
        parts[sequence] = _decode(event.data_coding, body)
        if len(parts) < total:
            return None
        del self._parts[(event.destination_addr, reference)]
        return "".join(parts[i] for i in sorted(parts))

    async def _receipt(self, session_id: str, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        await asyncio.sleep(0.2)  # the handset takes a moment
        at = datetime.now(UTC).strftime("%y%m%d%H%M")
        answer = await self._esmes[session_id].deliver_sm(
            destination_addr=event.source_addr,
            source_addr=event.destination_addr,
            esm_class=0x04,
            short_message=_RECEIPT.format(id=message_id, at=at).encode(),
            tlvs=[
                smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                smpp34.Tlv(TLV_MESSAGE_STATE, bytes([2])),  # DELIVERED
            ],
        )
        if answer.is_success:
            self.receipts.append(message_id)

    async def wait_for(self, count: int, seconds: float) -> list[SmscMessage]:
        async with asyncio.timeout(seconds):
            while len(self.messages) < count:
                await asyncio.sleep(0.05)
        return list(self.messages)
