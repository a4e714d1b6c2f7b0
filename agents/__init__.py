"""Decision makers of the market: firms, customers, and their policies as pure functions."""

from agents.business import Allocation, BusinessModel, Offers, Tier, TrainedModel
from agents.customers import Choice, CustomerPopulation
from agents.firms import Firm, Lab, Project, Startup
from agents.policies import funding_offer_usd, next_price_usd
from agents.strategy import Candidate, MarketView, choose_project, value_candidates

__all__ = [
    "Allocation",
    "BusinessModel",
    "Candidate",
    "Choice",
    "CustomerPopulation",
    "Firm",
    "Lab",
    "MarketView",
    "Offers",
    "Project",
    "Startup",
    "Tier",
    "TrainedModel",
    "choose_project",
    "funding_offer_usd",
    "next_price_usd",
    "value_candidates",
]
