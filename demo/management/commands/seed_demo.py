"""Fill an empty database with a demo partner, through the same services the pages use."""

import os
import random
import secrets
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings
from django.utils.translation import gettext as _

from activitylog.models import ActivityLogEntry
from activitylog.services import Origin
from customers import services as customers
from customers.models import Customer, CustomerUser, RoleAssignment, Subscription
from permissions.models import Resource
from permissions.services import set_purchase_permissions
from portal.models import Agent

ORIGIN = Origin.system("seed_demo")
SEED = 20260101  # The same demo every time.

AGENTS = [
    ("admin@partner.example", "Alya Pratiwi", Agent.Role.ADMIN_AGENT),
    ("sales@partner.example", "Samuel Okafor", Agent.Role.SALES_AGENT),
    ("helpdesk@partner.example", "Hana Kobayashi", Agent.Role.HELPDESK_AGENT),
    ("operator@partner.example", "Oskar Lindqvist", Agent.Role.OPERATOR),
]

RESERVATIONS, SAVINGS_PLAN = Resource.AZURE_RESERVATIONS, Resource.AZURE_SAVINGS_PLAN


class State(Enum):
    """Where a demo customer ends up, from the Account page's point of view."""

    READY = "Azure plan and an Owner; nothing allowed yet"
    RESERVATIONS = "ready; Azure reservations allowed"
    SAVINGS_PLAN = "ready; Azure savings plans allowed"
    BOTH = "ready; both allowed"
    AZURE_GLOBAL = "Azure Global and an Owner; nothing allowed yet"
    CONTRIBUTOR_ONLY = "Azure plan, a Contributor but no Owner"
    READER_ONLY = "Azure plan, a Reader but no Owner"
    PLAN_ONLY = "Azure plan just bought, no users yet"
    LICENCE_ONLY = "no Azure, only a Microsoft 365 licence"
    NEW = "just added, nothing bought yet"
    SUSPENDED = "permissions allowed, then the Azure plan was suspended"
    OWNER_REMOVED = "permissions allowed, then the last Owner was removed"
    CANCELLED = "reservations allowed, turned off, then the Azure plan was cancelled"


@dataclass(frozen=True)
class DemoCustomer:
    company_name: str
    slug: str
    address_line: str
    city: str
    postal_code: str
    country: str
    contact: tuple[str, str]  # display name, sign-in name before the @
    phone: str
    colleague: tuple[str, str]
    state: State

    @property
    def domain(self) -> str:
        return f"{self.slug}.onmicrosoft.com"

    def upn(self, person: tuple[str, str]) -> str:
        return f"{person[1]}@{self.domain}"


S = State
CUSTOMERS = [
    DemoCustomer("Müller & Söhne Maschinenbau GmbH", "muellersoehne", "Friedrichstraße 112", "Berlin",
                 "10117", "DE", ("Jürgen Müller", "juergen.mueller"), "+49 30 5557 0112",
                 ("Anke Schröder", "anke.schroeder"), S.BOTH),
    DemoCustomer("Café Lumière SARL", "cafelumiere", "18 rue de la République", "Lyon", "69002", "FR",
                 ("Élodie Fontaine", "elodie.fontaine"), "+33 4 72 55 01 18",
                 ("Théo Garnier", "theo.garnier"), S.RESERVATIONS),
    DemoCustomer("Łódzkie Zakłady Tekstylne Sp. z o.o.", "lodzkiezaklady", "ul. Piotrkowska 204", "Łódź",
                 "90-368", "PL", ("Małgorzata Wiśniewska", "malgorzata.wisniewska"), "+48 42 555 02 04",
                 ("Paweł Zieliński", "pawel.zielinski"), S.CONTRIBUTOR_ONLY),
    DemoCustomer("Società Agricola Bellavista", "bellavistaagricola", "Via Mazzini 27", "Verona", "37121",
                 "IT", ("Niccolò Ferrari", "niccolo.ferrari"), "+39 045 555 0127",
                 ("Chiara Bianchi", "chiara.bianchi"), S.READY),
    DemoCustomer("Øresund Logistik ApS", "oresundlogistik", "Havnegade 39", "København K", "1058", "DK",
                 ("Søren Østergaard", "soren.ostergaard"), "+45 33 55 50 39",
                 ("Mette Jørgensen", "mette.jorgensen"), S.SUSPENDED),
    DemoCustomer("Construções Araújo & Filhos Lda", "construcoesaraujo", "Rua de Santa Catarina 501",
                 "Porto", "4000-446", "PT", ("João Araújo", "joao.araujo"), "+351 22 555 0501",
                 ("Inês Conceição", "ines.conceicao"), S.LICENCE_ONLY),
    DemoCustomer("Ferretería Núñez S.A.", "ferreterianunez", "Calle Sierpes 48", "Sevilla", "41004", "ES",
                 ("Begoña Núñez", "begona.nunez"), "+34 954 55 50 48",
                 ("Andrés Peña", "andres.pena"), S.SAVINGS_PLAN),
    DemoCustomer("Baltijos Vėjas UAB", "baltijosvejas", "Gedimino pr. 9", "Vilnius", "01103", "LT",
                 ("Rūta Kazlauskienė", "ruta.kazlauskiene"), "+370 5 255 5009",
                 ("Mindaugas Žukauskas", "mindaugas.zukauskas"), S.READER_ONLY),
    DemoCustomer("Công ty TNHH Nguyễn Phát", "nguyenphat", "123 Đường Lê Lợi, Quận 1",
                 "Thành phố Hồ Chí Minh", "700000", "VN", ("Nguyễn Thị Hương", "huong.nguyen"),
                 "+84 28 5555 0123", ("Trần Văn Đức", "duc.tran"), S.BOTH),
    DemoCustomer("Dvořák Stavby s.r.o.", "dvorakstavby", "Masarykova 31", "Brno", "602 00", "CZ",
                 ("Tomáš Dvořák", "tomas.dvorak"), "+420 541 555 031",
                 ("Kateřina Nováková", "katerina.novakova"), S.OWNER_REMOVED),
    DemoCustomer("PT Nusantara Data Prima", "nusantaradata", "Jl. Jend. Sudirman Kav. 52-53",
                 "Jakarta Selatan", "12190", "ID", ("Budi Santoso", "budi.santoso"), "+62 21 5555 0152",
                 ("Siti Rahmawati", "siti.rahmawati"), S.BOTH),
    DemoCustomer("PT Cahaya Abadi Logistik", "cahayaabadi", "Jl. Raya Darmo 88", "Surabaya", "60241", "ID",
                 ("Dewi Lestari", "dewi.lestari"), "+62 31 5555 0088",
                 ("Agus Setiawan", "agus.setiawan"), S.READY),
    DemoCustomer("CV Maju Bersama", "majubersama", "Jl. Braga 17", "Bandung", "40111", "ID",
                 ("Rudi Hartono", "rudi.hartono"), "+62 22 5555 0017",
                 ("Wulan Sari", "wulan.sari"), S.LICENCE_ONLY),
    DemoCustomer("PT Bumi Hijau Agro", "bumihijauagro", "Jl. Gatot Subroto 210", "Medan", "20112", "ID",
                 ("Putri Siregar", "putri.siregar"), "+62 61 5555 0210",
                 ("Hendra Nasution", "hendra.nasution"), S.CONTRIBUTOR_ONLY),
    DemoCustomer("PT Samudra Biru Perikanan", "samudrabiru", "Jl. Somba Opu 45", "Makassar", "90111", "ID",
                 ("Andi Pratama", "andi.pratama"), "+62 411 555 045",
                 ("Nurul Hidayah", "nurul.hidayah"), S.RESERVATIONS),
    DemoCustomer("PT Kopi Gayo Sejahtera", "kopigayo", "Jl. Teuku Umar 12", "Banda Aceh", "23243", "ID",
                 ("Teuku Rizal", "teuku.rizal"), "+62 651 555 012",
                 ("Cut Farah", "cut.farah"), S.NEW),
    DemoCustomer("PT Mitra Solusi Digital", "mitrasolusi", "Jl. Malioboro 60", "Yogyakarta", "55213", "ID",
                 ("Bayu Wicaksono", "bayu.wicaksono"), "+62 274 555 060",
                 ("Ratna Kusuma", "ratna.kusuma"), S.AZURE_GLOBAL),
    DemoCustomer("Koperasi Tani Makmur", "tanimakmur", "Jl. Pemuda 150", "Semarang", "50132", "ID",
                 ("Slamet Riyadi", "slamet.riyadi"), "+62 24 5555 0150",
                 ("Sri Wahyuni", "sri.wahyuni"), S.PLAN_ONLY),
    DemoCustomer("PT Garuda Teknik Mandiri", "garudateknik", "Jl. Sunset Road 88", "Badung, Bali", "80361",
                 "ID", ("I Made Suarta", "made.suarta"), "+62 361 555 088",
                 ("Ni Luh Putu Ayu", "putu.ayu"), S.SUSPENDED),
    DemoCustomer("株式会社さくら精機", "sakuraseiki", "千代田区丸の内1-9-2", "東京都", "100-0005", "JP",
                 ("佐藤 健一", "kenichi.sato"), "+81 3 5555 0192", ("鈴木 美咲", "misaki.suzuki"), S.BOTH),
    DemoCustomer("山田製作所株式会社", "yamadaseisakusho", "大阪市北区梅田3-1-1", "大阪府", "530-0001", "JP",
                 ("山田 太郎", "taro.yamada"), "+81 6 5555 0311", ("高橋 直子", "naoko.takahashi"),
                 S.READER_ONLY),
    DemoCustomer("北海道みらい物流株式会社", "hokkaidomirai", "札幌市中央区北1条西2丁目", "北海道",
                 "060-0001", "JP", ("田中 翔太", "shota.tanaka"), "+81 11 555 0012",
                 ("伊藤 さくら", "sakura.ito"), S.SAVINGS_PLAN),
    DemoCustomer("台北雲端科技有限公司", "taipeicloud", "信義區松仁路100號", "台北市", "110", "TW",
                 ("陳志明", "zhiming.chen"), "+886 2 5555 0100", ("林怡君", "yijun.lin"), S.READY),
    DemoCustomer("深圳华信电子有限公司", "huaxindianzi", "南山区深南大道9988号", "深圳市", "518057", "CN",
                 ("王伟", "wei.wang"), "+86 755 5555 9988", ("李娜", "na.li"), S.LICENCE_ONLY),
    DemoCustomer("한빛소프트웨어 주식회사", "hanbitsoftware", "강남구 테헤란로 152", "서울특별시", "06236",
                 "KR", ("김민준", "minjun.kim"), "+82 2 5555 0152", ("이서연", "seoyeon.lee"),
                 S.RESERVATIONS),
    DemoCustomer("ТОВ «Карпатські Ліси»", "karpatskilisy", "вул. Городоцька 45", "Львів", "79007", "UA",
                 ("Олена Коваленко", "olena.kovalenko"), "+380 32 555 0045",
                 ("Андрій Шевчук", "andrii.shevchuk"), S.READY),
    DemoCustomer("Балкан Софт ЕООД", "balkansoft", "бул. Витоша 89", "София", "1463", "BG",
                 ("Георги Иванов", "georgi.ivanov"), "+359 2 555 0089",
                 ("Мария Петрова", "maria.petrova"), S.OWNER_REMOVED),
    DemoCustomer("ТОО «Степной Орёл»", "stepnoiorel", "пр. Абая 150", "Алматы", "050046", "KZ",
                 ("Айгерим Сапарова", "aigerim.saparova"), "+7 727 555 0150",
                 ("Дмитрий Ким", "dmitriy.kim"), S.CANCELLED),
    DemoCustomer("Београдска пекара д.о.о.", "beogradskapekara", "Кнез Михаилова 12", "Београд", "11000",
                 "RS", ("Милош Јовановић", "milos.jovanovic"), "+381 11 555 0012",
                 ("Јелена Петровић", "jelena.petrovic"), S.LICENCE_ONLY),
    DemoCustomer("شركة الواحة للتقنية", "alwahatech", "طريق الملك فهد 2150", "الرياض", "12214", "SA",
                 ("محمد العتيبي", "mohammed.alotaibi"), "+966 11 555 2150",
                 ("نورة القحطاني", "noura.alqahtani"), S.BOTH),
    DemoCustomer("مؤسسة النخيل التجارية", "alnakheeltrading", "شارع الشيخ زايد 41", "دبي", "", "AE",
                 ("أحمد المنصوري", "ahmed.almansoori"), "+971 4 555 0041",
                 ("فاطمة الحمادي", "fatima.alhammadi"), S.READY),
    DemoCustomer("مجموعة الأهرام للأغذية", "ahramfoods", "شارع التحرير 25، الدقي", "الجيزة", "12611", "EG",
                 ("عمر حسن", "omar.hassan"), "+20 2 5555 0025", ("سارة إبراهيم", "sara.ibrahim"),
                 S.CONTRIBUTOR_ONLY),
    DemoCustomer("บริษัท สยามคลาวด์ จำกัด", "siamcloud", "99 ถนนสุขุมวิท แขวงคลองเตยเหนือ", "กรุงเทพมหานคร",
                 "10110", "TH", ("สมชาย ใจดี", "somchai.jaidee"), "+66 2 555 0099",
                 ("วราภรณ์ ศรีสุข", "waraporn.srisuk"), S.SAVINGS_PLAN),
    DemoCustomer("ห้างหุ้นส่วนจำกัด เชียงใหม่ฟู้ดส์", "chiangmaifoods", "15 ถนนนิมมานเหมินท์", "เชียงใหม่",
                 "50200", "TH", ("ประเสริฐ วงศ์ไทย", "prasert.wongthai"), "+66 53 555 015",
                 ("กมลชนก แก้วมณี", "kamonchanok.kaewmanee"), S.SUSPENDED),
    DemoCustomer("Ελληνική Ναυτιλιακή Α.Ε.", "hellenicshipping", "Ακτή Μιαούλη 47", "Πειραιάς", "185 36",
                 "GR", ("Νίκος Παπαδόπουλος", "nikos.papadopoulos"), "+30 210 555 0047",
                 ("Ελένη Γεωργίου", "eleni.georgiou"), S.READY),
    DemoCustomer("भारत हरित ऊर्जा प्राइवेट लिमिटेड", "bharatharitenergy", "एफ़सी रोड 42, शिवाजीनगर", "पुणे",
                 "411005", "IN", ("राजेश कुमार", "rajesh.kumar"), "+91 20 5555 0042",
                 ("प्रिया शर्मा", "priya.sharma"), S.AZURE_GLOBAL),
    DemoCustomer("שקד מערכות בע״מ", "shakedsystems", "רחוב רוטשילד 22", "תל אביב-יפו", "6688218", "IL",
                 ("יעל כהן", "yael.cohen"), "+972 3 555 0022", ("דני לוי", "dani.levi"), S.PLAN_ONLY),
    DemoCustomer("Fabrikam, Inc.", "fabrikam", "400 Pine Street", "Seattle", "98101", "US",
                 ("Ashley Carter", "ashley.carter"), "+1 206 555 0140",
                 ("Marcus Reed", "marcus.reed"), S.BOTH),
    DemoCustomer("Northwind Traders Ltd", "northwindtraders", "27 Old Gloucester Street", "London",
                 "WC1N 3AX", "GB", ("Oliver Bennett", "oliver.bennett"), "+44 20 7946 0027",
                 ("Amelia Hughes", "amelia.hughes"), S.READY),
    DemoCustomer("Adventure Works Cycles", "adventureworks", "1 Adventure Way", "Bothell", "98011", "US",
                 ("Jordan Lee", "jordan.lee"), "+1 425 555 0111",
                 ("Taylor Morgan", "taylor.morgan"), S.RESERVATIONS),
    DemoCustomer("Tailspin Toys Pty Ltd", "tailspintoys", "88 George Street", "Sydney", "2000", "AU",
                 ("Chloe Nguyen", "chloe.nguyen"), "+61 2 5550 0088",
                 ("Liam O'Brien", "liam.obrien"), S.NEW),
    DemoCustomer("Woodgrove Bank Singapore", "woodgrovebank", "8 Marina View", "Singapore", "018960", "SG",
                 ("Tan Wei Ling", "weiling.tan"), "+65 6555 0808",
                 ("Arjun Menon", "arjun.menon"), S.READY),
]

READY_STATES = {S.READY, S.RESERVATIONS, S.SAVINGS_PLAN, S.BOTH, S.AZURE_GLOBAL}
ALLOWED = {
    S.RESERVATIONS: {RESERVATIONS: True},
    S.SAVINGS_PLAN: {SAVINGS_PLAN: True},
    S.BOTH: {RESERVATIONS: True, SAVINGS_PLAN: True},
    S.SUSPENDED: {RESERVATIONS: True, SAVINGS_PLAN: True},
    S.OWNER_REMOVED: {SAVINGS_PLAN: True},
    S.CANCELLED: {RESERVATIONS: True},
}


class Command(BaseCommand):
    help = _("Fill an empty database with a demo partner: customers in every state and four agents.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true",
            help=_("Do nothing (and succeed) when the database already holds customers."),
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help=_("The address to print for signing in."),
        )
        parser.add_argument(
            "--simulator", action="store_true",
            help=_("Fill the Microsoft simulator with the demo partner and sync the portal from it "
                   "(make run); only the agents are created here."),
        )
        parser.add_argument(
            "--simulator-state", default=None,
            help=_("The simulator's folder (certificates and state); default .simulator in the project."),
        )

    def handle(self, *args, if_empty: bool, url: str, simulator: bool = False,
               simulator_state: str | None = None, **options) -> None:
        given_password = os.environ.get("DEMO_PASSWORD", "")
        if Customer.objects.exists():
            if not if_empty:
                raise CommandError(_(
                    "The database already holds customers; seed_demo only fills an empty database. "
                    "Use --if-empty to skip quietly."
                ))
            self.stdout.write(_("The database already holds customers: no demo data loaded."))
            self.print_sign_ins(url, given_password, made_up=False, existing=True)
            return
        taken = Agent.objects.filter(email__in=[email for email, _name, _role in AGENTS])
        if taken.exists():
            raise CommandError(
                _("These agents already exist: %(emails)s. seed_demo only fills an empty database.")
                % {"emails": ", ".join(taken.values_list("email", flat=True))}
            )

        password = given_password or secrets.token_urlsafe(12)
        if simulator:
            self.seed_simulator(password, simulator_state)
            self.print_sign_ins(url, password, made_up=not given_password, existing=False)
            return
        # Each step is a service with its own transaction, as it would be on the pages; a seeded
        # generator on purpose: the demo is the same every time.
        Seeder(password=password, rng=random.Random(SEED)).run()  # noqa: S311
        self.stdout.write(self.style.SUCCESS(
            _("Demo data loaded: %(customers)d customers, %(agents)d agents, "
              "%(entries)d activity log entries.")
            % {"customers": Customer.objects.count(), "agents": len(AGENTS),
               "entries": ActivityLogEntry.objects.count()}
        ))
        self.print_sign_ins(url, password, made_up=not given_password, existing=False)

    def seed_simulator(self, password: str, state: str | None) -> None:
        """The demo partner as Microsoft would hold it, in the simulator; the portal syncs it in."""
        from microsoft import credentials
        from microsoft.sync import run_sync
        from simulator.testing import start_simulator

        with transaction.atomic():
            Seeder(password=password, rng=random.Random(SEED)).create_agents()  # noqa: S311
        document = simulator_scenario(random.Random(SEED))  # noqa: S311
        state = Path(state) if state else settings.BASE_DIR / ".simulator"
        self.stdout.write(_("Filling the Microsoft simulator (%(state)s) with the demo partner…")
                          % {"state": state})
        sim = start_simulator(state)
        try:
            answer = sim.control.put_state(document)
            if answer.get("refreshToken"):
                credentials.store_refresh_token(answer["refreshToken"])
            # This simulator, for this one sync; the Procfile's serves the same state afterwards.
            with override_settings(MICROSOFT_LOGIN_URL=sim.login_url,
                                   PARTNER_CENTER_URL=sim.partner_center_url,
                                   AZURE_MANAGEMENT_URL=sim.azure_management_url,
                                   MICROSOFT_GRAPH_URL=sim.graph_url, REQUESTS_CA_BUNDLE=str(sim.ca_path)):
                result = run_sync()
        finally:
            sim.stop()
        counts = result.counts
        self.stdout.write(self.style.SUCCESS(
            _("Synced from the simulator: %(customers)d customers, %(subscriptions)d subscriptions, "
              "%(azure)d Azure subscriptions, %(roles)d role assignments (%(outcome)s).")
            % {"customers": counts.added["customers"], "subscriptions": counts.added["subscriptions"],
               "azure": counts.added["azure_subscriptions"], "roles": counts.added["role_assignments"],
               "outcome": result.run.get_outcome_display()}))

    def print_sign_ins(self, url: str, password: str, *, made_up: bool, existing: bool) -> None:
        agents = {agent.email: agent for agent in Agent.objects.filter(
            email__in=[email for email, _name, _role in AGENTS])}
        if not agents:
            self.stdout.write(_("None of the demo agents exists in this database."))
            return
        self.stdout.write("")
        self.stdout.write(_("Open %(url)s and sign in as one of:") % {"url": url})
        for email, _name, _role in AGENTS:
            if email in agents:
                self.stdout.write(f"  {email:<28} {agents[email].get_role_display()}")
        admin = agents.get(AGENTS[0][0])
        if password and (not existing or admin is None or admin.check_password(password)):
            self.stdout.write(_("Password: %(password)s") % {"password": password})
            if made_up:
                self.stdout.write(_("(Made up for this database; set DEMO_PASSWORD to choose your own.)"))
        else:
            self.stdout.write(_("Password: the one printed when the demo data was first loaded."))
        self.stdout.write("")


class Seeder:
    """Does what the partner's staff would have done, in the order they would have done it."""

    def __init__(self, *, password: str, rng: random.Random) -> None:
        self.password = password
        self.rng = rng
        self.customers: dict[str, Customer] = {}
        self.azure: dict[str, Subscription] = {}
        self.owners: dict[str, RoleAssignment] = {}

    def create_agents(self) -> None:
        # Hashed once: the hasher takes seconds by design, and the demo agents share one password.
        hashed = make_password(self.password)
        self.agents = {}
        for email, name, role in AGENTS:
            agent = Agent.objects.create_user(email, full_name=name, role=role)
            agent.password = hashed
            agent.save(update_fields=["password"])
            self.agents[role] = agent
        self.admin = self.agents[Agent.Role.ADMIN_AGENT]

    def run(self) -> None:
        self.create_agents()
        for demo in CUSTOMERS:
            self.add_customer(demo)
        for demo in CUSTOMERS:
            self.buy_subscriptions(demo)
        for demo in CUSTOMERS:
            self.add_users_and_roles(demo)
        for demo in CUSTOMERS:
            if demo.state in ALLOWED:
                set_purchase_permissions(actor=self.admin, customer=self.customers[demo.slug],
                                         allowed=ALLOWED[demo.state], origin=ORIGIN)
        for demo in CUSTOMERS:
            self.later_changes(demo)
        self.refused_attempts()

    def add_customer(self, demo: DemoCustomer) -> None:
        self.customers[demo.slug] = customers.add_customer(
            actor=self.admin, origin=ORIGIN, company_name=demo.company_name, domain=demo.domain,
            address_line=demo.address_line, city=demo.city, postal_code=demo.postal_code,
            country=demo.country, contact_name=demo.contact[0], contact_email=demo.upn(demo.contact),
            contact_phone=demo.phone,
        )

    def buy_subscriptions(self, demo: DemoCustomer) -> None:
        customer = self.customers[demo.slug]
        if demo.state is S.NEW:
            return
        if demo.state is S.LICENCE_ONLY or self.rng.random() < 0.4:
            # Licences are bought in Partner Center, not here: no portal service sells them, so the
            # demo adds the row as a sync from Partner Center would, with no activity log entry.
            Subscription.objects.create(
                customer=customer, offer=Subscription.Offer.MICROSOFT_365,
                friendly_name="Microsoft 365 Business Standard", quantity=self.rng.randint(5, 250),
            )
        if demo.state is S.LICENCE_ONLY:
            return
        offer = Subscription.Offer.AZURE_PLAN
        if demo.state is S.AZURE_GLOBAL:
            offer = Subscription.Offer.AZURE_GLOBAL
        self.azure[demo.slug] = customers.buy_azure_plan(
            actor=self.admin, customer=customer, offer=offer, origin=ORIGIN, friendly_name=offer.label,
        )
        if demo.state in READY_STATES and self.rng.random() < 0.3:
            customers.buy_azure_plan(actor=self.admin, customer=customer, origin=ORIGIN,
                                     friendly_name="Azure plan – Development")

    def add_users_and_roles(self, demo: DemoCustomer) -> None:
        if demo.state in (S.NEW, S.PLAN_ONLY):
            return
        customer = self.customers[demo.slug]
        contact, colleague = (
            customers.add_customer_user(actor=self.admin, customer=customer, origin=ORIGIN,
                                        user_principal_name=demo.upn(person), display_name=person[0])
            for person in (demo.contact, demo.colleague)
        )
        subscription = self.azure.get(demo.slug)
        if subscription is None:
            return
        if demo.state is S.CONTRIBUTOR_ONLY:
            self.grant(subscription, contact, RoleAssignment.Role.CONTRIBUTOR)
            self.grant(subscription, colleague, RoleAssignment.Role.READER)
        elif demo.state is S.READER_ONLY:
            self.grant(subscription, contact, RoleAssignment.Role.READER)
        else:
            self.owners[demo.slug] = self.grant(subscription, contact, RoleAssignment.Role.OWNER)
            colleague_role = self.rng.choice([RoleAssignment.Role.CONTRIBUTOR, RoleAssignment.Role.READER])
            self.grant(subscription, colleague, colleague_role)

    def grant(self, subscription: Subscription, user: CustomerUser, role: str) -> RoleAssignment:
        return customers.grant_role(actor=self.admin, subscription=subscription, customer_user=user,
                                    role=role, origin=ORIGIN)

    def later_changes(self, demo: DemoCustomer) -> None:
        """What happened after the permissions were allowed, which the Account page warns about."""
        customer = self.customers[demo.slug]
        if demo.state is S.SUSPENDED:
            customers.set_subscription_status(actor=self.admin, subscription=self.azure[demo.slug],
                                              status=Subscription.Status.SUSPENDED, origin=ORIGIN)
        elif demo.state is S.OWNER_REMOVED:
            customers.remove_role(actor=self.admin, assignment=self.owners[demo.slug], origin=ORIGIN)
        elif demo.state is S.CANCELLED:
            set_purchase_permissions(actor=self.admin, customer=customer, allowed={RESERVATIONS: False},
                                     origin=ORIGIN)
            customers.set_subscription_status(actor=self.admin, subscription=self.azure[demo.slug],
                                              status=Subscription.Status.CANCELLED, origin=ORIGIN)

    def refused_attempts(self) -> None:
        """A few refusals, so the activity log shows Failed entries as it would in real use."""
        ready = next(self.customers[d.slug] for d in CUSTOMERS if d.state is S.READY)
        not_ready = next(self.customers[d.slug] for d in CUSTOMERS if d.state is S.CONTRIBUTOR_ONLY)
        attempts = [
            (self.agents[Agent.Role.SALES_AGENT], ready),
            (self.admin, not_ready),
            (self.agents[Agent.Role.HELPDESK_AGENT], not_ready),
        ]
        for actor, customer in attempts:
            try:
                set_purchase_permissions(actor=actor, customer=customer, allowed={RESERVATIONS: True},
                                         origin=ORIGIN)
            except (PermissionDenied, ValidationError):
                pass
            else:
                raise CommandError(f"seed_demo expected {actor} to be refused for {customer}.")


def _staff(email: str, name: str, role: str) -> dict:
    from microsoft.scenario import guid

    roles = {Agent.Role.ADMIN_AGENT: "AdminAgent", Agent.Role.SALES_AGENT: "SalesAgent",
             Agent.Role.HELPDESK_AGENT: "HelpdeskAgent"}
    return {"oid": guid(settings.PARTNER_TENANT_ID, email), "userPrincipalName": email, "displayName": name,
            "roles": [roles[role]] if role in roles else [], "groups": [], "mfa": True}


def simulator_scenario(rng: random.Random) -> dict:
    """The demo customers as Microsoft holds them: every state above, plus the cases only a mirror of
    Azure has (a Group Owner, a service principal Owner, an expired subscription beside an active plan,
    an Owner on a second Azure subscription). Every Azure subscription carries the partner's AdminAgents
    group (a ForeignGroup Owner), as one the partner created would."""
    from microsoft import scenario as ms

    builders, ready_seen, contributor_seen = [], 0, 0
    for demo in CUSTOMERS:
        builder = ms.CustomerBuilder(demo.company_name, domain=demo.domain)
        builders.append(builder)
        state = demo.state
        if state is S.NEW:
            continue
        contact = builder.user(demo.contact[0], demo.upn(demo.contact))
        colleague = builder.user(demo.colleague[0], demo.upn(demo.colleague))
        if state is S.LICENCE_ONLY or rng.random() < 0.4:
            builder.subscription(offer_id=ms.MICROSOFT_365_OFFER, name="Microsoft 365 Business Standard",
                                 quantity=rng.randint(5, 250))
        if state is S.LICENCE_ONLY:
            continue
        status = {S.SUSPENDED: "suspended", S.CANCELLED: "deleted"}.get(state, "active")
        if state is S.AZURE_GLOBAL:
            plan = builder.subscription(offer_id=ms.AZURE_GLOBAL_OFFER, name="Azure Global", status=status)
        else:
            plan = builder.subscription(status=status)
        azure = builder.azure_subscription(plan, name=f"{demo.slug}-production",
                                           status="active" if status == "active" else "disabled")
        if state is S.PLAN_ONLY:
            continue
        if state is S.CONTRIBUTOR_ONLY:
            builder.assign(azure, contact, role_definition_id=ms.CONTRIBUTOR_ROLE_DEFINITION)
            builder.reader(azure, colleague)
            contributor_seen += 1
            if contributor_seen == 1:  # a service principal holds Owner: still not ready
                builder.assign(azure, builder.service_principal("Backup automation"), "ServicePrincipal")
        elif state is S.READER_ONLY:
            builder.reader(azure, contact)
        elif state is S.OWNER_REMOVED:
            builder.reader(azure, colleague)
        else:
            if state is S.READY:
                ready_seen += 1
            if ready_seen == 1 and state is S.READY:
                builder.assign(azure, builder.group("Cloud administrators"), "Group")
            else:
                builder.assign(azure, contact)
            builder.reader(azure, colleague)
            if state is S.READY and ready_seen == 2:
                old = builder.subscription(name="Azure plan (old agreement)", status="expired")
                builder.azure_subscription(old, name=f"{demo.slug}-old", status="disabled")
            if state is S.READY and ready_seen == 3:
                development = builder.azure_subscription(plan, name=f"{demo.slug}-development")
                builder.assign(development, colleague)
        allowed = ALLOWED.get(state, {})
        if state is not S.CANCELLED and allowed:
            builder.self_serve(*[resource for resource, on in allowed.items() if on])
    partner = ms.Partner(tenant_id=settings.PARTNER_TENANT_ID, app_id=settings.MICROSOFT_APP_ID,
                         app_secret=settings.MICROSOFT_APP_SECRET, name=settings.PARTNER_NAME,
                         staff=[_staff(email, name, role) for email, name, role in AGENTS])
    return ms.scenario(partner, builders)
