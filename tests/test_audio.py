"""realtime_sync.audio: player, microphone, VoiceLoop, devices and ``realtime-sync talk``.

The logic is tested with the fake devices (a manual clock: the output plays
only when the test advances it) against RealtimeSimulator over real sockets.
The sounddevice backend is tested in a subprocess on ALSA's null device when
PortAudio is available, and skipped with the reason otherwise.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
import wave
from array import array
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from realtime_sync import AudioFormat, RealtimeClient, RealtimeEventType, TurnDetectionType
from realtime_sync.audio import (
    AudioDeviceError,
    AudioPlayer,
    FakeInputDevice,
    FakeOutputDevice,
    Interruption,
    Microphone,
    VoiceLoop,
    WavFileInput,
    WavFileOutput,
)
from realtime_sync.testing import RealtimeSimulator
from realtime_sync.utils import generate_silence, generate_tone, read_wav, write_wav

ROOT = Path(__file__).resolve().parent.parent
T = RealtimeEventType
RATE = 24000
WAIT = 10.0  # seconds any single wait may take before the test fails


@pytest.fixture(autouse=True)
def no_audio_threads_left() -> Iterator[None]:
    yield
    alive = [t.name for t in threading.enumerate() if t.name.startswith("realtime-audio")]
    assert alive == [], f"audio threads still running: {alive}"


def samples(pcm: bytes) -> List[int]:
    values = array("h")
    values.frombytes(pcm)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def frequency(pcm: bytes, rate: int) -> float:
    """Frequency of a sine from its rising zero crossings (linear interpolation)."""
    xs = samples(pcm)
    crossings = [
        i + xs[i] / (xs[i] - xs[i + 1]) for i in range(len(xs) - 1) if xs[i] < 0 <= xs[i + 1]
    ]
    assert len(crossings) > 10
    return (len(crossings) - 1) / ((crossings[-1] - crossings[0]) / rate)


def stereo(mono: bytes) -> bytes:
    xs = array("h", samples(mono))
    out = array("h", [0]) * (2 * len(xs))
    out[0::2] = xs
    out[1::2] = xs
    return out.tobytes()


def loud(ms: float, rate: int = 48000) -> bytes:
    """Something server VAD hears as speech."""
    return generate_tone(frequency=300, duration_ms=ms, sample_rate=rate, amplitude=0.3)


# --------------------------------------------------------------------------- the player


def test_player_counts_exactly_what_each_item_played_and_stop_flushes_at_once() -> None:
    out = FakeOutputDevice(RATE, block_ms=20)
    with AudioPlayer(out, prebuffer_ms=0) as player:
        a, b = generate_tone(duration_ms=300), generate_tone(frequency=880, duration_ms=500)
        player.play(a, item_id="a")
        player.mark_done("a")
        player.play(b, item_id="b")
        assert player.played_samples("a") == 0
        out.advance(200)
        assert (player.played_samples("a"), player.played_samples("b")) == (4800, 0)
        out.advance(200)  # 100 ms of a, then 100 ms of b, back to back
        assert (player.played_samples("a"), player.played_samples("b")) == (7200, 2400)
        assert bytes(out.played) == a + b[: 2 * 2400]
        assert player.active

        assert player.stop() == {"b": 2400}  # a was heard in full: not cut
        assert not player.active and player.buffered_ms == 0
        assert out.advance(100) == bytes(4800)  # silence at once
        assert player.play(b"\x01\x00" * 100, item_id="b") is False  # late delta ignored
        assert out.advance(20) == bytes(960)
        assert (player.played_samples("a"), player.played_samples("b")) == (7200, 2400)
        assert player.play(b"\x01\x00" * 480, item_id="c") is True  # a new item plays
        assert out.advance(20) == b"\x01\x00" * 480


def test_jitter_buffer_waits_for_the_prebuffer_grows_after_a_gap_and_never_drops() -> None:
    out = FakeOutputDevice(RATE, block_ms=20)
    audio = generate_tone(duration_ms=1000)
    pieces = [audio[i : i + 1921] for i in range(0, len(audio), 1921)]  # odd sizes on purpose
    with AudioPlayer(out, prebuffer_ms=80, max_prebuffer_ms=200) as player:
        player.play(pieces[0], item_id="x")  # 40 ms: below the prebuffer
        assert out.advance(40) == bytes(1920)  # waits, plays silence
        assert player.played_samples("x") == 0
        player.play(pieces[1], item_id="x")  # 80 ms queued: starts
        first = len(pieces[0] + pieces[1]) // 2  # whole samples queued (one byte waits)
        out.advance(100)  # 80 ms of audio then a gap: the network fell behind
        assert player.played_samples("x") == first and player.underruns == 1
        assert player.prebuffer_ms > 80
        for piece in pieces[2:]:
            player.play(piece, item_id="x")
        player.mark_done("x")
        out.advance(1000)
        assert player.played_samples("x") == 24000 == player.received_samples("x")
        assert not player.active
        played = bytes(out.played)
        # Every sample was played, in order; only silence was added in the gap.
        start, cut = played.index(audio[:64]), 2 * first
        gap_end = start + cut + played[start + cut :].index(audio[cut : cut + 64])
        assert played[start : start + cut] == audio[:cut]
        assert set(played[start + cut : gap_end]) == {0}
        assert played[gap_end : gap_end + len(audio) - cut] == audio[cut:]


def test_player_waits_idle_and_measures_the_silence_since_the_last_audio() -> None:
    out = FakeOutputDevice(RATE)
    with AudioPlayer(out) as player:
        assert player.ms_since_audio == math.inf and player.wait_idle(0)
        player.play(generate_tone(duration_ms=50), item_id="short")
        player.mark_done("short")  # complete: plays at once, below the prebuffer
        assert player.playable_frames(RATE) == 1200
        assert not player.wait_idle(0)
        out.advance(60)
        assert player.wait_idle(0) and player.ms_since_audio == 10


@pytest.mark.parametrize("device_rate", [48000, 44100, 16000])
def test_player_resamples_for_the_device_and_keeps_24k_accounting(device_rate: int) -> None:
    out = FakeOutputDevice(device_rate, block_ms=20)
    with AudioPlayer(out, prebuffer_ms=0) as player:
        player.play(generate_tone(frequency=440, duration_ms=2000, amplitude=0.9), item_id="x")
        player.mark_done("x")
        out.advance(600)
        assert player.played_samples("x") == 14400  # 600 ms at 24 kHz, exactly
        played = bytes(out.played)
        assert abs(frequency(played[4000:], device_rate) - 440) < 1
        assert max(abs(v) for v in samples(played)) < 32767  # no clipping
        assert player.stop() == {"x": 14400}
        out.advance(100)
        assert player.played_samples("x") == 14400
        assert set(bytes(out.played)[len(played) + 400 :]) == {0}


# --------------------------------------------------------------------------- the microphone


@pytest.mark.parametrize(("rate", "channels"), [(48000, 1), (44100, 2), (16000, 1)])
@pytest.mark.parametrize("tone_hz", [440, 3000])
def test_microphone_resamples_to_24k_in_fixed_chunks(
    rate: int, channels: int, tone_hz: int
) -> None:
    device = FakeInputDevice(rate, channels, block_ms=10)
    chunks: List[bytes] = []
    mic = Microphone(device, chunk_ms=40)
    with mic.start(chunks.append):
        tone = generate_tone(frequency=tone_hz, duration_ms=1000, sample_rate=rate, amplitude=0.9)
        device.feed(stereo(tone) if channels == 2 else tone)
        assert mic.drain(WAIT)
    assert {len(c) for c in chunks} == {1920}  # 40 ms of 24 kHz PCM16
    assert len(chunks) == 24  # 960 ms sent; the last 40 ms wait for more audio
    pcm = b"".join(chunks)
    assert abs(frequency(pcm[960:], RATE) - tone_hz) < 1
    peak = max(abs(v) for v in samples(pcm))
    assert 0.88 * 32767 < peak < 32767  # the level is kept, nothing clips
    assert mic.ms_sent == 960


def test_push_to_talk_sends_only_between_press_and_release() -> None:
    device = FakeInputDevice(48000)
    chunks: List[bytes] = []
    mic = Microphone(device, chunk_ms=40, push_to_talk=True)
    with mic.start(chunks.append):
        device.feed(loud(200))
        assert mic.drain(WAIT) and chunks == []
        mic.press()
        device.feed(loud(500))
        assert mic.release(WAIT)  # returns once the rest was sent
        device.feed(loud(200))
        assert mic.drain(WAIT)
    assert [len(c) for c in chunks] == [1920] * 12 + [960]  # 500 ms: 12 chunks + 20 ms
    assert mic.ms_dropped == 400


def test_mute_and_gate_drop_audio_instead_of_sending_it() -> None:
    device = FakeInputDevice(24000)
    chunks: List[bytes] = []
    open_now = [True]
    mic = Microphone(device, chunk_ms=20)
    mic.gate = lambda: open_now[0]
    with mic.start(chunks.append):
        device.feed(loud(100, 24000))
        assert mic.drain(WAIT) and len(chunks) == 5
        open_now[0] = False
        device.feed(loud(100, 24000))
        mic.mute()
        open_now[0] = True
        device.feed(loud(100, 24000))
        assert mic.drain(WAIT) and len(chunks) == 5 and mic.muted
        mic.unmute()
        device.feed(loud(100, 24000))
        assert mic.drain(WAIT) and len(chunks) == 10
    assert mic.ms_dropped == 200


def test_a_realtime_device_drops_audio_when_the_mic_thread_falls_behind() -> None:
    device = FakeInputDevice(24000)
    device.realtime = True  # behave like a sound card: its callback cannot wait
    unblock = threading.Event()
    sent: List[bytes] = []

    def slow_sink(chunk: bytes) -> None:
        unblock.wait(WAIT)
        sent.append(chunk)

    mic = Microphone(device, chunk_ms=20, max_backlog_ms=200)
    with mic.start(slow_sink):
        device.feed(loud(1000, 24000))  # the thread is stuck on the first chunk
        assert mic.overflow_ms >= 600
        unblock.set()
        assert mic.drain(WAIT)
    assert len(sent) < 50


# --------------------------------------------------------------------------- VoiceLoop


class Rig:
    """A simulator, a connected client and a VoiceLoop on fake devices."""

    def __init__(
        self,
        *,
        event_delay: float = 0.0,
        answer_ms: float = 5000,
        device_rate: int = RATE,
        mic_rate: int = 48000,
        **loop_args: Any,
    ) -> None:
        self.sim = RealtimeSimulator(event_delay=event_delay).start()
        self.answer = generate_tone(duration_ms=answer_ms, amplitude=0.25)
        self.sim.add_reply("story", text="Once upon a time " * 8, audio=self.answer)
        self.client = RealtimeClient(url=self.sim.url)
        self.client.connect()
        self.out = FakeOutputDevice(device_rate, block_ms=20)
        self.mic_device = FakeInputDevice(mic_rate)
        self.interrupted = threading.Event()
        push_to_talk = loop_args.get("push_to_talk", False)
        self.loop = VoiceLoop(
            self.client,
            player=AudioPlayer(self.out),
            mic=Microphone(self.mic_device, push_to_talk=push_to_talk),
            on_interrupt=lambda _cut: self.interrupted.set(),
            **loop_args,
        ).start()

    def close(self) -> None:
        self.loop.close()
        self.client.disconnect()
        self.sim.stop()

    def ask_story(self, *, until_ms: Optional[float] = None) -> Tuple[str, Any]:
        """Ask for the answer; block until ``until_ms`` of it is queued (or all of it)."""
        queued = threading.Event()
        item: Dict[str, str] = {}

        def watch(event: Any) -> None:
            if event.delta and event.delta.audio and event.item.role == "assistant":
                item["id"] = event.item.id
                have = self.loop.player.received_samples(event.item.id) * 1000 / RATE
                if until_ms is not None and have >= until_ms:
                    queued.set()

        done = self.client.wait_for(T.RESPONSE_DONE)
        self.client.on(T.CONVERSATION_UPDATED, watch)  # after the loop's own handler
        self.client.send_text("Tell me a story")
        if until_ms is None:
            done.result(WAIT)
        else:
            assert queued.wait(WAIT), "the answer's audio did not arrive"
        self.client.off(T.CONVERSATION_UPDATED, watch)
        return item["id"], done


@pytest.fixture
def rig_factory() -> Iterator[Any]:
    rigs: List[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rigs.append(Rig(**kwargs))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.close()


@pytest.mark.parametrize("device_rate", [RATE, 48000])
def test_interruption_truncates_the_answer_where_the_listener_stopped_hearing_it(
    rig_factory: Any, device_rate: int
) -> None:
    # The simulator streams a 5 s answer; the device plays 1.2 s; then the user speaks.
    rig = rig_factory(event_delay=0.01, device_rate=device_rate)
    item_id, done = rig.ask_story(until_ms=1500)
    rig.out.advance(1200)
    assert rig.loop.player.played_samples(item_id) == 28800

    rig.mic_device.feed(loud(300))  # server VAD hears the user: conversation.interrupted
    truncate = rig.sim.wait_for_received("conversation.item.truncate", timeout=WAIT)
    response = done.result(WAIT).response

    received = [e["type"] for e in rig.sim.received]
    assert received.index("response.cancel") < received.index("conversation.item.truncate")
    assert truncate["item_id"] == item_id and truncate["audio_end_ms"] == 1200
    assert response.status == "cancelled"
    assert rig.interrupted.is_set()
    assert rig.loop.interruptions == [
        Interruption(item_id=item_id, played_samples=28800, audio_end_ms=1200, reason="speech")
    ]
    cached = rig.client.conversation.get_item(item_id)
    assert cached is not None and cached.audio_end_ms == 1200
    assert rig.client.conversation.audio_ms(cached) == 1200  # the cache holds what was heard
    # Playback stopped: the device plays silence, and the rest of the answer is never played.
    assert not rig.loop.player.active
    assert set(rig.out.advance(400)) == {0}
    assert rig.loop.player.played_samples(item_id) == 28800
    if device_rate == RATE:  # the last sample played is sample 28800 of the answer
        last_played = bytes(rig.out.played).rstrip(b"\x00")[-64:]
        assert last_played == rig.answer[2 * 28800 - 64 : 2 * 28800]


def test_audio_of_an_answer_interrupted_before_it_spoke_is_never_played(
    rig_factory: Any,
) -> None:
    rig = rig_factory(event_delay=0.2)  # audio comes 0.6 s after response.created
    created = rig.client.wait_for(T.RESPONSE_CREATED)
    done = rig.client.wait_for(T.RESPONSE_DONE)
    rig.client.send_text("Tell me a story")
    created.result(WAIT)
    cut = rig.loop.interrupt()
    assert cut == Interruption(item_id=None, played_samples=0, audio_end_ms=None, reason="manual")
    assert done.result(WAIT).response.status == "cancelled"
    assert rig.sim.wait_for_received("response.cancel", timeout=WAIT)
    rig.out.advance(200)
    assert rig.loop.player.position_ms == 200 and rig.loop.player.ms_since_audio == math.inf


def test_without_half_duplex_the_bot_interrupts_itself_through_the_speaker(
    rig_factory: Any,
) -> None:
    rig = rig_factory(answer_ms=2000, mic_rate=RATE)
    item_id, _ = rig.ask_story()
    for _ in range(5):  # the room: what the speaker plays reaches the microphone
        rig.mic_device.feed(rig.out.advance(100))
    assert rig.interrupted.wait(WAIT)
    assert rig.loop.interruptions[0].item_id == item_id
    assert rig.loop.interruptions[0].played_samples == 12000  # cut itself off after 0.5 s


def test_half_duplex_mutes_the_mic_while_the_assistant_speaks(rig_factory: Any) -> None:
    rig = rig_factory(answer_ms=2000, mic_rate=RATE, half_duplex=True, echo_tail_ms=300)
    item_id, _ = rig.ask_story()
    for _ in range(23):  # 2 s of answer and the 300 ms echo tail, all echoed into the mic
        rig.mic_device.feed(rig.out.advance(100))
    assert rig.loop.mic.drain(WAIT)
    assert rig.loop.player.played_samples(item_id) == 48000  # heard in full
    # Every block captured while the speaker played, or less than 300 ms after, was
    # dropped: the echo never reached the server. The last block is captured 300 ms after.
    assert rig.loop.mic.ms_dropped == 2200

    started = rig.client.wait_for(T.INPUT_AUDIO_BUFFER_SPEECH_STARTED)
    rig.mic_device.feed(loud(300, RATE))  # after the tail, the user is heard again
    started.result(WAIT)
    sent = [e["type"] for e in rig.sim.sent]
    assert sent.count("input_audio_buffer.speech_started") == 1
    assert rig.loop.interruptions == []


def test_push_to_talk_answers_on_release_and_press_interrupts(rig_factory: Any) -> None:
    rig = rig_factory(push_to_talk=True)
    update = rig.sim.wait_for_received("session.update", count=2)  # connect, then the loop
    assert update["session"]["audio"]["input"]["turn_detection"] is None  # manual turns
    rig.sim.add_reply("", text="Once upon a time " * 8, audio=rig.answer)

    rig.mic_device.feed(loud(200))  # not pressed: not sent
    done = rig.client.wait_for(T.RESPONSE_DONE)
    rig.loop.press()
    rig.mic_device.feed(loud(500))
    assert rig.loop.release(WAIT)
    answer = done.result(WAIT).response
    user = [i for i in rig.client.conversation.get_items() if i.role == "user"]
    assert len(user) == 1 and len(user[0].formatted.audio) == 500 * 48  # exactly 500 ms

    item_id = answer.output[0].id
    rig.out.advance(300)
    rig.loop.press()  # the user takes the turn back
    truncate = rig.sim.wait_for_received("conversation.item.truncate", timeout=WAIT)
    assert truncate["audio_end_ms"] == 300
    assert rig.loop.interruptions[-1] == Interruption(item_id, 7200, 300, "press")
    assert rig.loop.release(WAIT) is False  # nothing said: nothing committed


def test_server_vad_is_enabled_unless_told_otherwise(rig_factory: Any) -> None:
    rig = rig_factory()
    update = rig.sim.wait_for_received("session.update", count=2)  # connect, then the loop
    detection = update["session"]["audio"]["input"]["turn_detection"]
    assert detection["type"] == TurnDetectionType.SERVER_VAD.value
    assert detection["interrupt_response"] is False  # the loop cancels, after truncating


def test_a_device_that_fails_to_open_leaves_nothing_running(sim: RealtimeSimulator) -> None:
    class Broken(FakeOutputDevice):
        def start(self, source: Any) -> None:
            raise AudioDeviceError("no speaker here")

    with RealtimeClient(url=sim.url) as client:
        mic = Microphone(FakeInputDevice())
        loop = VoiceLoop(client, player=AudioPlayer(Broken()), mic=mic)
        with pytest.raises(AudioDeviceError, match="no speaker here"):
            loop.start()
        client.update_session(output_audio_format=AudioFormat.g711_ulaw())
        with pytest.raises(ValueError, match="24 kHz PCM16"):
            VoiceLoop(client, player=AudioPlayer(FakeOutputDevice()), mic=mic).start()


# --------------------------------------------------------------------------- WAV devices


def test_wav_input_paces_itself_and_wav_output_keeps_only_what_played(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    write_wav(source, stereo(loud(1000, 16000)), 16000, channels=2)
    device = WavFileInput(source, speed=10, tail_silence_ms=500)
    assert (device.sample_rate, device.channels, device.duration_s) == (16000, 2, 1.5)
    chunks: List[bytes] = []
    mic = Microphone(device, chunk_ms=100)
    with mic.start(chunks.append):
        assert device.wait_finished(WAIT) and mic.drain(WAIT)
    # 1.5 s at 24 kHz is 15 chunks; the last waits for input the resampler looks ahead to.
    assert len(chunks) == 14 and {len(c) for c in chunks} == {4800}

    target = tmp_path / "out.wav"
    out = WavFileOutput(target, speed=0)
    with AudioPlayer(out) as player:
        player.play(generate_tone(duration_ms=700), item_id="x")
        player.mark_done("x")
        assert player.wait_idle(WAIT)
    assert read_wav(target).pcm == generate_tone(duration_ms=700)


# --------------------------------------------------------------------------- the CLI


def talk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "realtime_sync", "talk", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def test_talk_with_wav_files_runs_end_to_end_offline(tmp_path: Path) -> None:
    said = tmp_path / "said.wav"
    write_wav(said, loud(1000, 16000) + generate_silence(300, 16000), 16000)
    heard = tmp_path / "heard.wav"
    result = talk("--input-wav", str(said), "--output-wav", str(heard), "--speed", "0")
    assert result.returncode == 0, result.stderr
    assert "you (transcript)> (simulated transcript)" in result.stdout  # the live transcript
    answer = 'You said: "(simulated transcript)". I am the realtime_sync simulator.'
    assert f"assistant> {answer}" in result.stdout
    assert wav_seconds(heard) == pytest.approx(len(answer) * 0.060, abs=0.001)
    assert result.stderr == ""


def test_talk_interrupts_the_answer_when_the_user_speaks_again(tmp_path: Path) -> None:
    # 1 s of speech, 2.5 s of pause, speech again: the second utterance cuts the answer
    # about 2 s in (the answer starts after 0.5 s of silence).
    said = tmp_path / "said.wav"
    pcm = loud(1000, 16000) + generate_silence(2500, 16000) + loud(800, 16000)
    write_wav(said, pcm, 16000)
    heard = tmp_path / "heard.wav"
    result = talk("--input-wav", str(said), "--output-wav", str(heard), "--speed", "4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("you (transcript)> (simulated transcript)") == 2
    first = result.stdout.index("[interrupted after ")
    cut_s = float(result.stdout[first:].split()[2])
    assert 1.0 < cut_s < 3.0
    full = len('You said: "(simulated transcript)". I am the realtime_sync simulator.') * 0.060
    assert wav_seconds(heard) == pytest.approx(cut_s + full, abs=0.1)


def test_talk_without_the_audio_extra_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['sounddevice'] = None\n"  # as if it were not installed
        "from realtime_sync.cli import main; sys.exit(main(['talk']))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "pip install -e '.[audio]'" in result.stderr


def test_talk_reports_a_bad_input_file_with_exit_code_3(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file")
    result = talk("--input-wav", str(bad), "--output-wav", str(tmp_path / "x.wav"))
    assert result.returncode == 3
    assert result.stderr.startswith("realtime-sync: error: cannot read")


# --------------------------------------------------------------------------- packaging


def test_importing_the_sdk_loads_neither_numpy_nor_sounddevice() -> None:
    code = (
        "import sys, realtime_sync, realtime_sync.audio, realtime_sync.cli; "
        "assert 'numpy' not in sys.modules and 'sounddevice' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- sounddevice


def _portaudio_problem() -> Optional[str]:
    if not sys.platform.startswith("linux"):
        return "the sounddevice test plays on ALSA's null device, which needs Linux"
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"sounddevice is not usable here ({last}): pip install sounddevice and libportaudio2"
    return None


SOUNDDEVICE_SCRIPT = """
import threading
from realtime_sync import RealtimeClient
from realtime_sync.audio import (AudioPlayer, Microphone, SounddeviceInput,
                                 SounddeviceOutput, VoiceLoop)
from realtime_sync.testing import RealtimeSimulator
from realtime_sync.utils import generate_tone

out = SounddeviceOutput()
print("output", out.name, out.sample_rate, out.channels)
with AudioPlayer(out) as player:
    player.play(generate_tone(duration_ms=1000), item_id="x")
    player.mark_done("x")
    assert player.wait_idle(10), "the device did not play"
    assert player.played_samples("x") == 24000

chunks = []
got = threading.Event()
def sink(chunk):
    chunks.append(len(chunk))
    if len(chunks) >= 10:
        got.set()
mic_device = SounddeviceInput()
print("input", mic_device.name, mic_device.sample_rate)
with Microphone(mic_device, chunk_ms=40).start(sink):
    assert got.wait(10), "the microphone streamed nothing"
assert set(chunks) == {1920}, chunks

with RealtimeSimulator() as sim, RealtimeClient(url=sim.url) as client:
    # The default devices: speaker and microphone. ALSA's null capture device returns
    # stray non-zero samples, so server VAD would hear "speech": manual turns here.
    with VoiceLoop(client, turn_detection=None) as loop:
        turn = client.ask("Hello!")
        item = turn.items[0]
        assert loop.wait_until_idle(10)
        assert loop.player.played_samples(item.id) == len(item.formatted.audio) // 2 > 0
print("ok")
"""


def test_sounddevice_backend_on_alsa_null_device(tmp_path: Path) -> None:
    problem = _portaudio_problem()
    if problem is not None:
        pytest.skip(problem)
    # A private ALSA configuration whose default device is "null": it plays and records
    # (silence) as fast as PortAudio asks, with no sound hardware.
    (tmp_path / ".asoundrc").write_text(
        textwrap.dedent(
            """
            pcm.!default { type null hint { show on description "Null device" } }
            """
        )
    )
    env = dict(os.environ, HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", SOUNDDEVICE_SCRIPT],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "no usable audio" in result.stderr or "Error querying device" in result.stderr:
        pytest.skip(f"PortAudio found no ALSA device even with a null one: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
