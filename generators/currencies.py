"""ISO 4217 currency codes, and how a ``--currencies`` value becomes a list of them."""

from __future__ import annotations

from stores.errors import InvalidParameter
from stores.schema import MAX_CURRENCIES

# Most traded first: a count N takes the first N of these.
MAJORS: tuple[str, ...] = (
    "USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD", "SEK", "KRW",
    "NOK", "NZD", "INR", "MXN", "TWD", "ZAR", "BRL", "DKK", "PLN", "THB", "ILS", "IDR",
    "CZK", "AED", "TRY", "HUF", "CLP", "SAR", "PHP", "MYR", "COP", "RON", "PEN",
)  # fmt: skip

# Active ISO 4217 codes (2024 list, funds and precious metals left out).
ISO_4217: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST
    XAF XCD XOF XPF YER ZAR ZMW ZWG
    """.split()
)

ORDERED: tuple[str, ...] = MAJORS + tuple(sorted(ISO_4217 - set(MAJORS)))
LIMIT = min(MAX_CURRENCIES, len(ORDERED))


def parse_currencies(value: str | int) -> tuple[str, ...]:
    """'4' -> the four most traded; 'USD,EUR' -> exactly those, in that order."""
    text = str(value).strip()
    if text.isdigit():
        count = int(text)
        if not 1 <= count <= LIMIT:
            raise InvalidParameter(
                f"currencies {count}: use a count from 1 to {LIMIT} or a list of ISO 4217 codes", "currencies"
            )
        return ORDERED[:count]
    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    if not codes:
        raise InvalidParameter(
            f"currencies {text!r}: use a count from 1 to {LIMIT} or ISO 4217 codes such as USD,EUR",
            "currencies",
        )
    unknown = [code for code in codes if code not in ISO_4217]
    if unknown:
        raise InvalidParameter(
            f"currencies: unknown ISO 4217 code {', '.join(unknown)}; use codes such as USD,EUR,GBP,JPY",
            "currencies",
        )
    if len(set(codes)) != len(codes):
        raise InvalidParameter(f"currencies {text!r} names a code twice; list each code once", "currencies")
    if len(codes) > MAX_CURRENCIES:
        raise InvalidParameter(f"currencies lists {len(codes)} codes; at most {MAX_CURRENCIES}", "currencies")
    return codes
