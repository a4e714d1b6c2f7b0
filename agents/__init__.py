"""Decision makers of the market: firms, customers, and their policies as pure functions."""

from agents.business import BusinessModel, Offers, TrainedModel
from agents.customers import Choice, CustomerPopulation
from agents.firms import Firm, Lab, Startup
from agents.policies import next_price_usd

__all__ = [
    "BusinessModel",
    "Choice",
    "CustomerPopulation",
    "Firm",
    "Lab",
    "Offers",
    "Startup",
    "TrainedModel",
    "next_price_usd",
]
