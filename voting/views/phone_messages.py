"""Sentences for the phone-code channel's error codes (merged into ``messages.MESSAGES``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

PHONE_MESSAGES: dict[str, Any] = {
    "otp_format": _l("验证码是 6 位数字，请对照短信重新输入。"),
    "otp_wrong": _l("验证码不对，还可以再试 %(attempts_left)s 次。"),
    "otp_expired": _l("验证码已过期或已失效，请点“重新发送”获取新的验证码。"),
    "otp_exhausted": _l(
        "验证码输错次数太多，已经失效。请点“重新发送”获取新的验证码，或带身份证到联络站投票。"
    ),
    "otp_used": _l("这个验证码已经用过了，请重新获取验证码。"),
    "otp_cooldown": _l(
        "验证码刚刚发送过，请等 %(seconds)s 秒后再试。一直收不到短信的，请带身份证到联络站投票。"
    ),
    "otp_daily_cap": _l(
        "这个手机号今天获取验证码的次数已经用完。请明天再试，或带身份证到联络站投票。"
    ),
    "otp_busy": _l("现在获取验证码的人太多，请过一会儿再试，或带身份证到联络站投票。"),
    "otp_send_refused": _l("现在不能发送验证码，请稍后再试，或带身份证到联络站投票。"),
}
