"""The demo event's exhibitors: companies, booths and the resources each booth offers."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.booths.models import BuyingStage, ResourceKind, Tier

EU = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
DACH = ["DE", "AT", "CH"]
NORTH_AMERICA = ["US", "CA", "MX"]
WORLDWIDE: list[str] = []


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    kind: ResourceKind
    title: str
    stage: BuyingStage
    description: str = ""
    url: str = ""  # videos and links; documents get a generated PDF instead


@dataclass(frozen=True, slots=True)
class ExhibitorSpec:
    slug: str
    name: str
    tier: Tier
    tagline: str
    description: str
    tags: list[str]
    territory: list[str]
    ideal_sizes: list[str]
    accent: str
    resources: list[ResourceSpec]
    competitor_domains: list[str] = field(default_factory=list)
    video_url: str = ""

    @property
    def website(self) -> str:
        return f"https://{self.domain}"

    @property
    def domain(self) -> str:
        return f"{self.slug}.example"


def _doc(title: str, stage: BuyingStage, description: str = "") -> ResourceSpec:
    return ResourceSpec(ResourceKind.document, title, stage, description)


def _video(slug: str, title: str, stage: BuyingStage, description: str = "") -> ResourceSpec:
    url = f"https://video.example.com/{slug}/{title.lower().replace(' ', '-')}"
    return ResourceSpec(ResourceKind.video, title, stage, description, url)


def _link(
    slug: str, path: str, title: str, stage: BuyingStage, description: str = ""
) -> ResourceSpec:
    return ResourceSpec(
        ResourceKind.link, title, stage, description, f"https://{slug}.example/{path}"
    )


R, E, D = BuyingStage.research, BuyingStage.evaluation, BuyingStage.decision

EXHIBITORS: list[ExhibitorSpec] = [
    ExhibitorSpec(
        slug="forgeline",
        name="Forgeline AI",
        tier=Tier.platinum,
        tagline="Predictive maintenance that your maintenance planners actually trust.",
        description=(
            "Forgeline turns vibration, temperature and PLC signals into **maintenance work "
            "orders** days before a failure.\n\n"
            "- Anomaly models trained per asset class, explained in plain language\n"
            "- Native connectors for SAP PM, IBM Maximo and OPC UA\n"
            "- Runs on-premises, in your cloud, or on our EU-hosted platform\n\n"
            "Over 140 plants in 19 countries run Forgeline on more than 60,000 assets."
        ),
        tags=["predictive maintenance", "edge", "MLOps", "manufacturing"],
        territory=WORLDWIDE,
        ideal_sizes=["1001-5000", "5001+"],
        accent="#c2410c",
        competitor_domains=["uptimeiq.example", "cobalt-twin.example"],
        video_url="https://video.example.com/forgeline/booth-welcome",
        resources=[
            _doc("Predictive maintenance primer", R, "Twelve pages on where PdM pays off first."),
            _video("forgeline", "Ten-minute product tour", E, "From sensor to work order."),
            _doc("ROI calculator workbook", E, "Estimate avoided downtime for your lines."),
            _doc("Pricing sheet 2026", D, "Per-asset and site licences, with volume tiers."),
        ],
    ),
    ExhibitorSpec(
        slug="lumora",
        name="Lumora Vision Systems",
        tier=Tier.platinum,
        tagline="Visual inspection at line speed, trained on fifty images, not fifty thousand.",
        description=(
            "Lumora's inspection cameras and few-shot models catch surface defects, missing "
            "components and label errors **at up to 1,200 parts a minute**.\n\n"
            "1. Mount a Lumora camera or bring your own GigE Vision camera\n"
            "2. Label a few dozen good and bad parts in the browser\n"
            "3. Deploy to the edge box next to the line in one click\n\n"
            "Used by automotive suppliers, food packagers and electronics assemblers."
        ),
        tags=["computer vision", "quality inspection", "edge", "manufacturing"],
        territory=WORLDWIDE,
        ideal_sizes=["201-1000", "1001-5000", "5001+"],
        accent="#7c3aed",
        competitor_domains=["inspectra.example"],
        resources=[
            _doc("Intro whitepaper: few-shot visual inspection", R),
            _video("lumora", "Line-side demo at 1,200 parts a minute", E),
            _link("lumora", "case-studies/tier1-automotive", "Case study: Tier-1 automotive", E),
            _link(
                "lumora", "contact/pilot", "Book a 30-day pilot", D, "On your line, our cameras."
            ),
        ],
    ),
    ExhibitorSpec(
        slug="kestrel-mlops",
        name="Kestrel MLOps",
        tier=Tier.gold,
        tagline="Ship, monitor and roll back models across a thousand edge devices.",
        description=(
            "Kestrel is the model registry and deployment pipeline for **industrial edge "
            "fleets**: signed model artefacts, staged roll-outs, drift alerts and one-click "
            "rollback, with an audit trail your quality team will sign off."
        ),
        tags=["MLOps", "edge", "model monitoring"],
        territory=[*EU, "GB", "CH", "NO"],
        ideal_sizes=["201-1000", "1001-5000"],
        accent="#0f766e",
        resources=[
            _doc("Edge MLOps reference architecture", R),
            _link("kestrel-mlops", "docs/quickstart", "Quickstart documentation", E),
            _doc("Security and compliance pack", D, "ISO 27001, SOC 2 and EU AI Act mapping."),
        ],
    ),
    ExhibitorSpec(
        slug="datastrand",
        name="Datastrand",
        tier=Tier.gold,
        tagline="The industrial data platform: every historian, one clean time-series lake.",
        description=(
            "Datastrand connects OSIsoft PI, Aveva, Siemens and Rockwell historians to a "
            "governed lakehouse with **contextualised asset models**, so data scientists stop "
            "spending 80% of their time finding the right tag."
        ),
        tags=["data platform", "time series", "IIoT"],
        territory=WORLDWIDE,
        ideal_sizes=["1001-5000", "5001+"],
        accent="#1d4ed8",
        resources=[
            _doc("Buyer's guide to industrial data platforms", R),
            _video("datastrand", "Connecting a PI historian in 15 minutes", E),
            _doc("Total cost of ownership comparison", E),
            _doc("Enterprise pricing and SLA", D),
        ],
    ),
    ExhibitorSpec(
        slug="bastion-edge",
        name="Bastion Edge Security",
        tier=Tier.gold,
        tagline="Zero-trust security for OT networks and the AI models running on them.",
        description=(
            "Bastion discovers every device on your shop floor, segments OT from IT without "
            "re-cabling, and signs the models you deploy to the edge so nobody swaps them "
            "for their own. **IEC 62443 ready.**"
        ),
        tags=["security", "OT", "edge"],
        territory=NORTH_AMERICA,
        ideal_sizes=["1001-5000", "5001+"],
        accent="#b91c1c",
        resources=[
            _doc("The state of OT security 2026", R),
            _video("bastion-edge", "Attack simulation on a bottling line", E),
            _link("bastion-edge", "assessment", "Free OT exposure assessment", D),
        ],
    ),
    ExhibitorSpec(
        slug="tessellate",
        name="Tessellate Robotics",
        tier=Tier.silver,
        tagline="Vision-guided picking for mixed bins, no CAD models needed.",
        description=(
            "Tessellate's grasping models let standard six-axis arms pick **unknown, "
            "reflective and deformable parts** from cluttered bins, with cycle times under "
            "four seconds."
        ),
        tags=["robotics", "computer vision", "logistics"],
        territory=EU,
        ideal_sizes=["201-1000", "1001-5000"],
        accent="#ea580c",
        competitor_domains=["pickwise.example"],
        resources=[
            _video("tessellate", "Mixed-bin picking, unedited", R),
            _doc("Cell integration checklist", E),
        ],
    ),
    ExhibitorSpec(
        slug="gridwise",
        name="Gridwise Energy AI",
        tier=Tier.silver,
        tagline="Cut your plant's energy bill by forecasting and shifting the load.",
        description=(
            "Gridwise forecasts each machine's consumption and reschedules flexible loads "
            "against day-ahead prices. Typical savings: **8–14% of the energy bill** in the "
            "first year."
        ),
        tags=["energy", "forecasting", "sustainability"],
        territory=[*DACH, "NL", "BE", "DK"],
        ideal_sizes=["51-200", "201-1000", "1001-5000"],
        accent="#15803d",
        resources=[
            _doc("Energy flexibility explained", R),
            _doc("Savings estimator", E),
            _doc("Pricing: per-site subscription", D),
        ],
    ),
    ExhibitorSpec(
        slug="ferrovia",
        name="Ferrovia Analytics",
        tier=Tier.silver,
        tagline="Condition monitoring for rail fleets and track, from the train itself.",
        description=(
            "Accelerometers and cameras on in-service trains detect **track defects and "
            "wheel flats** on every run, replacing most manual inspection rides."
        ),
        tags=["predictive maintenance", "computer vision", "rail", "logistics"],
        territory=[*EU, "GB", "CH"],
        ideal_sizes=["5001+"],
        accent="#4338ca",
        resources=[
            _doc("Whitepaper: on-train track monitoring", R),
            _video("ferrovia", "Wheel-flat detection walkthrough", E),
        ],
    ),
    ExhibitorSpec(
        slug="quayside",
        name="Quayside Data Labs",
        tier=Tier.silver,
        tagline="Synthetic data for the defects you have not seen yet.",
        description=(
            "Quayside renders **photorealistic synthetic images** of rare defects so vision "
            "models learn them before the first scrapped part. Works with any training stack."
        ),
        tags=["computer vision", "synthetic data", "data platform"],
        territory=WORLDWIDE,
        ideal_sizes=["51-200", "201-1000", "1001-5000"],
        accent="#0891b2",
        resources=[
            _doc("When synthetic data works (and when it does not)", R),
            _link("quayside", "sandbox", "Try the generator sandbox", E),
            _doc("Licensing overview", D),
        ],
    ),
    ExhibitorSpec(
        slug="cobalt-twin",
        name="Cobalt Twin",
        tier=Tier.bronze,
        tagline="Digital twins of production lines that simulate before you change.",
        description=(
            "Model a line from your MES data, then test a new shift plan or a layout change "
            "**in simulation** before touching the real thing."
        ),
        tags=["digital twin", "simulation", "manufacturing"],
        territory=EU,
        ideal_sizes=["201-1000", "1001-5000"],
        accent="#0369a1",
        competitor_domains=["forgeline.example"],
        resources=[
            _video("cobalt-twin", "A line twin in five minutes", R),
            _doc("Implementation timeline and pricing", D),
        ],
    ),
    ExhibitorSpec(
        slug="halden-sensors",
        name="Halden Sensors",
        tier=Tier.bronze,
        tagline="Wireless vibration sensors with ten-year batteries.",
        description=(
            "Retrofit sensors for motors, pumps and gearboxes, with **on-sensor feature "
            "extraction** so only what matters crosses the network."
        ),
        tags=["IIoT", "edge", "predictive maintenance"],
        territory=NORTH_AMERICA,
        ideal_sizes=["51-200", "201-1000"],
        accent="#a16207",
        resources=[
            _doc("Sensor datasheet", E),
            _link("halden-sensors", "shop/starter-kit", "Order a starter kit", D),
        ],
    ),
    ExhibitorSpec(
        slug="parsec",
        name="Parsec Inference",
        tier=Tier.bronze,
        tagline="Low-power inference modules for cameras and gateways.",
        description=(
            "Parsec's M.2 accelerators run detection models at **30 fps under 3 watts**, "
            "with a compiler that takes ONNX in and gives a deployable binary out."
        ),
        tags=["edge", "hardware", "computer vision"],
        territory=WORLDWIDE,
        ideal_sizes=["11-50", "51-200", "201-1000"],
        accent="#475569",
        resources=[
            _doc("Benchmark report: detection at the edge", R),
            _link("parsec", "developers", "Developer portal", E),
        ],
    ),
    ExhibitorSpec(
        slug="meridian-compliance",
        name="Meridian Compliance AI",
        tier=Tier.bronze,
        tagline="EU AI Act readiness without a team of lawyers.",
        description=(
            "Inventory your AI systems, classify their risk and generate the technical "
            "documentation the **EU AI Act** asks for, kept up to date from your MLOps tools."
        ),
        tags=["compliance", "security", "MLOps"],
        territory=EU,
        ideal_sizes=["201-1000", "1001-5000", "5001+"],
        accent="#be185d",
        resources=[
            _doc("EU AI Act checklist for manufacturers", R),
            _doc("Sample conformity dossier", E),
            _link("meridian-compliance", "demo", "Book a readiness workshop", D),
        ],
    ),
    ExhibitorSpec(
        slug="sparrowhawk",
        name="Sparrowhawk Drones",
        tier=Tier.bronze,
        tagline="Autonomous drone inspections of tanks, stacks and warehouses.",
        description=(
            "Indoor and outdoor drones that fly the same route every week and flag **corrosion, "
            "leaks and stock discrepancies** with computer vision."
        ),
        tags=["computer vision", "inspection", "logistics"],
        territory=NORTH_AMERICA,
        ideal_sizes=["1001-5000", "5001+"],
        accent="#65a30d",
        resources=[
            _video("sparrowhawk", "Warehouse cycle count by drone", R),
            _doc("Inspection service pricing", D),
        ],
    ),
    ExhibitorSpec(
        slug="loomworks",
        name="Loomworks Labeling",
        tier=Tier.bronze,
        tagline="Annotation teams who know what a weld seam should look like.",
        description=(
            "Managed labeling for industrial images, time series and documents, with "
            "**domain-trained annotators** and a quality guarantee per batch."
        ),
        tags=["data labeling", "computer vision", "data platform"],
        territory=WORLDWIDE,
        ideal_sizes=["11-50", "51-200", "201-1000"],
        accent="#9333ea",
        resources=[
            _doc("Labeling guide for defect images", R),
            _doc("Price list per annotation type", D),
        ],
    ),
]
