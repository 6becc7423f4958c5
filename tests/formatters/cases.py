"""The one set of replies every channel is rendered from, so goldens compare like with like.

Each case pairs a ``Reply`` with the ``RenderContext`` a channel would get for it; the contexts vary
on purpose (with and without a customer name, a quote, a public base URL) to reach both branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.models import SOLVED, TALK_TO_HUMAN, Action, RenderContext, Reply, ReplyKind, Source

QUOTED_AT = datetime(2025, 3, 3, 14, 5, tzinfo=UTC)
BASE_URL = "https://support.example.com"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    reply: Reply
    ctx: RenderContext


def _ctx(**overrides: object) -> RenderContext:
    values: dict[str, object] = {
        "conversation_id": 4812,
        "tenant_name": "Acme",
        "customer_name": "Dana",
        "subject": "Can't log in",
        "quoted_text": "Hi, I can't log in since yesterday.\nThe reset email never arrives.\n\nThanks, Dana",
        "quoted_at": QUOTED_AT,
        "base_url": BASE_URL,
    }
    values.update(overrides)
    return RenderContext(**values)  # type: ignore[arg-type]


RESET_DOC = Source(
    id="kb:12#3",
    title="Resetting your password",
    snippet="Use the “Forgot password” link…",
    score=0.91,
    url="https://help.example.com/articles/reset-password?lang=en&src=bot",
)
SPAM_DOC = Source(
    id="kb:40#1",
    title="Why emails land in spam",
    snippet="Check your spam folder…",
    score=0.74,
    url="https://help.example.com/articles/spam",
)
PAST_TICKET = Source(id="conversation:481", title="Similar case: reset mail delayed", snippet="…", score=0.62)

CSAT = tuple(Action(f"csat_{n}", label) for n, label in enumerate(["1 😞", "2", "3", "4", "5 😍"], start=1))


def _long_text() -> str:
    """~10k characters: short paragraphs, a list, and paragraphs longer than a chat bubble and a
    Slack section, so every level of the splitter is reached."""
    sentences = [
        "Open the sign-in page and choose **Forgot password**.",
        "Enter the address you registered with, not an alias.",
        "The email arrives within five minutes; check *Spam* and *Promotions* too.",
        "If it still does not arrive, add `no-reply@example.com` to your contacts.",
        "Links in the email expire after one hour, so use the newest one.",
        "After resetting, sign out of other devices from [Security settings](https://app.example.com/security).",
        "Two-factor codes are time-based: make sure your phone's clock is set automatically.",
        "Still stuck? Reply here and a person will pick it up.",
    ]
    paragraphs: list[str] = []
    for n in range(1, 9):
        paragraphs.append(f"Part {n}. " + " ".join(sentences[(n + k) % len(sentences)] for k in range(4)))
    paragraphs.append("\n".join(f"- Check {n}: {sentences[n % len(sentences)]}" for n in range(1, 9)))
    paragraphs.append(" ".join(f"({n}) {sentences[n % len(sentences)]}" for n in range(1, 25)))
    paragraphs.append(" ".join(f"[{n}] {sentences[n % len(sentences)]}" for n in range(1, 45)))
    for n in range(9, 25):
        paragraphs.append(f"Note {n}: " + " ".join(sentences[(n * 3 + k) % len(sentences)] for k in range(3)))
    return "\n\n".join(paragraphs)


LONG_TEXT = _long_text()

MARKUP_TEXT = (
    "Careful: <script>alert(1)</script> & <b>not bold</b> &amp; <img src=x onerror=alert(1)>\n\n"
    "[click me](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
    "[ok](https://example.com/?a=1&b=<2>|x) <!channel> <@U123> *real emphasis*\n\n"
    "```\n<script>alert('in code')</script>\n```"
)

RTL_TEXT = (
    "مرحباً! لقد أعدنا تعيين **كلمة المرور** الخاصة بك. استخدم الرابط في البريد خلال ساعة واحدة.\n\n"
    "שלום! אם הקישור לא הגיע, בדקו את תיקיית *הספאם*. מספר הפנייה: 4812.\n\n"
    "- الخطوة الأولى: افتح صفحة تسجيل الدخول\n- الخطوة الثانية: اختر «نسيت كلمة المرور؟»"
)

CJK_TEXT = (
    "パスワードを**リセット**しました。メールのリンクは1時間有効です。"
    "迷惑メールフォルダもご確認ください。\n\n"
    "如果仍然无法登录，请回复此邮件，我们的客服人员会尽快与您联系。谢谢！\n\n"
    "비밀번호가 재설정되었습니다. 감사합니다."
)

CASES: tuple[Case, ...] = (
    Case(
        "answer_with_sources",
        Reply(
            ReplyKind.ANSWER,
            "You can reset your password from the sign-in page:\n\n"
            "1. Choose **Forgot password**.\n2. Enter your *account* email.\n"
            "3. Follow the link (valid for `60` minutes).\n\n"
            "If the email doesn't arrive, see [why emails land in spam](https://help.example.com/articles/spam) [2].",
            sources=(RESET_DOC, SPAM_DOC, PAST_TICKET),
            actions=(SOLVED, TALK_TO_HUMAN),
        ),
        _ctx(),
    ),
    Case(
        "clarify",
        Reply(
            ReplyKind.CLARIFY,
            "Which address do you sign in with: your work email or a personal one?",
            actions=(TALK_TO_HUMAN,),
        ),
        _ctx(),
    ),
    Case(
        "handoff",
        Reply(
            ReplyKind.HANDOFF,
            "I've passed this to our support team. A person will reply here, usually within 2 hours.",
        ),
        _ctx(customer_name=None),
    ),
    Case(
        "notice_csat",
        Reply(ReplyKind.NOTICE, "Your request was resolved. How did we do?", actions=CSAT),
        _ctx(customer_name="  ", subject=None, quoted_text=None, quoted_at=None, base_url=""),
    ),
    Case("long_text", Reply(ReplyKind.ANSWER, LONG_TEXT, sources=(RESET_DOC,), actions=(SOLVED,)), _ctx()),
    Case(
        "markup",
        Reply(
            ReplyKind.ANSWER,
            MARKUP_TEXT,
            sources=(
                Source(
                    "kb:66", "Evil | title > <script>alert(1)</script> & co", "…", 0.5, "javascript:alert(1)"
                ),
                Source("kb:67", "Pipes | and > arrows", "…", 0.4, "https://example.com/a?x=1&y=2"),
            ),
            actions=(Action("solved", "<b>Yes</b> & done"), TALK_TO_HUMAN),
        ),
        _ctx(
            customer_name="<img src=x onerror=alert(1)>",
            subject="Help <script>\r\nBcc: victim@example.com",
            quoted_text="<script>alert(2)</script>\n& <b>bold</b>",
            base_url="javascript:alert(1)//",
        ),
    ),
    Case(
        "rtl",
        Reply(ReplyKind.ANSWER, RTL_TEXT, sources=(RESET_DOC,), actions=(SOLVED,), language="ar"),
        _ctx(customer_name="ليلى", subject="לא מצליח להתחבר", quoted_text="אני לא מצליח להתחבר.\nתודה"),
    ),
    Case(
        "cjk",
        Reply(ReplyKind.ANSWER, CJK_TEXT, actions=(TALK_TO_HUMAN,), language="ja"),
        _ctx(
            customer_name="山田",
            subject="ログインできません",
            quoted_text="ログインできません。\n助けてください",
        ),
    ),
)

CASES_BY_NAME = {case.name: case for case in CASES}
