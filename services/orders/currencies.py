"""ISO 4217 currencies an order may be priced in, with their minor units (decimal places).

Source: ISO 4217 list one as published 2026-01-01. Entries whose minor unit is "N.A." (precious metals,
bond-market units, SDR, XUA, XSU, the testing code XTS and XXX "no currency") are left out on purpose:
nothing is sold in them. Withdrawn codes (e.g. HRK, BGN, ANG, SLL, ZWL, CUC) are not accepted either.
"""

from collections.abc import Mapping
from types import MappingProxyType

_BY_MINOR_UNITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: (
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF "
        "CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
        "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL "
        "MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR "
        "PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP "
        "TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"
    ),
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {code: units for units, codes in _BY_MINOR_UNITS.items() for code in codes.split()}
)
CURRENCIES: frozenset[str] = frozenset(MINOR_UNITS)
