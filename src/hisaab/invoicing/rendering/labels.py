"""What an invoice says in each language it is printed in (en, hi, de, fr), pure data.

Legal wording that has to stay in English is not here: the rule 46 endorsements (LUT, SEZ) and
the regimes' VAT notes come from the tax engine verbatim, and rupee amounts in words are always
Indian English (words.py). `{…}` fields are filled in by document.py.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LANGUAGES", "Labels", "labels_for"]


@dataclass(frozen=True)
class Labels:
    language: str
    title_tax_invoice: str
    title_invoice: str
    title_credit_note: str
    original_for_recipient: str
    void: str
    bill_to: str
    number_invoice: str
    number_credit_note: str
    date_invoice: str
    date_credit_note: str
    due_date: str
    service_period: str
    original_invoice: str
    place_of_supply: str
    state_code: str
    country: str
    email: str
    gstin: str
    vat_number: str
    oss_number: str
    reverse_charge_question: str
    yes: str
    no: str
    reverse_charge: str
    supplier_vat: str
    customer_vat: str
    col_number: str
    col_description: str
    col_sac: str
    col_quantity: str
    col_unit_price: str
    col_discount: str
    col_taxable_value: str
    col_tax: str
    col_amount: str
    taxable_value: str
    tax_at: str
    vat: str
    total: str
    credit_applied: str
    amount_due: str
    amount_in_words: str
    notes: str
    exchange_rate: str
    for_supplier: str
    authorised_signatory: str
    computer_generated: str
    page: str


EN = Labels(
    language="en",
    title_tax_invoice="Tax Invoice",
    title_invoice="Invoice",
    title_credit_note="Credit Note",
    original_for_recipient="Original for recipient",
    void="VOID",
    bill_to="Bill to",
    number_invoice="Invoice number",
    number_credit_note="Credit note number",
    date_invoice="Invoice date",
    date_credit_note="Credit note date",
    due_date="Due date",
    service_period="Service period",
    original_invoice="Original invoice",
    place_of_supply="Place of supply",
    state_code="State: {name}, Code: {code}",
    country="Country",
    email="Email",
    gstin="GSTIN",
    vat_number="VAT number",
    oss_number="VAT number (OSS)",
    reverse_charge_question="Whether tax is payable on reverse charge",
    yes="Yes",
    no="No",
    reverse_charge="Reverse charge",
    supplier_vat="Supplier's VAT number",
    customer_vat="Customer's VAT number",
    col_number="#",
    col_description="Description",
    col_sac="SAC",
    col_quantity="Qty",
    col_unit_price="Unit price",
    col_discount="Discount",
    col_taxable_value="Taxable value",
    col_tax="Tax",
    col_amount="Amount",
    taxable_value="Taxable value",
    tax_at="{tax} @ {rate}",
    vat="VAT",
    total="Total",
    credit_applied="Credit applied",
    amount_due="Amount due",
    amount_in_words="Amount in words",
    notes="Notes",
    exchange_rate=(
        "Exchange rate: 1 {currency} = {rate} ({date}); taxable value and tax in INR: "
        "{taxable} and {tax} (total {total})"
    ),
    for_supplier="For {name}",
    authorised_signatory="Authorised signatory",
    computer_generated="This is a computer-generated document.",
    page="Page {page} of {pages}",
)

HI = Labels(
    language="hi",
    title_tax_invoice="कर बीजक",
    title_invoice="बीजक",
    title_credit_note="क्रेडिट नोट",
    original_for_recipient="प्राप्तकर्ता के लिए मूल प्रति",
    void="रद्द",
    bill_to="प्राप्तकर्ता",
    number_invoice="बीजक संख्या",
    number_credit_note="क्रेडिट नोट संख्या",
    date_invoice="बीजक की तिथि",
    date_credit_note="क्रेडिट नोट की तिथि",
    due_date="देय तिथि",
    service_period="सेवा अवधि",
    original_invoice="मूल बीजक",
    place_of_supply="आपूर्ति का स्थान",
    state_code="राज्य: {name}, कोड: {code}",
    country="देश",
    email="ईमेल",
    gstin="GSTIN",
    vat_number="VAT संख्या",
    oss_number="VAT संख्या (OSS)",
    reverse_charge_question="क्या कर रिवर्स चार्ज के आधार पर देय है",
    yes="हाँ",
    no="नहीं",
    reverse_charge="रिवर्स चार्ज",
    supplier_vat="आपूर्तिकर्ता की VAT संख्या",
    customer_vat="प्राप्तकर्ता की VAT संख्या",
    col_number="#",
    col_description="विवरण",
    col_sac="SAC",
    col_quantity="मात्रा",
    col_unit_price="इकाई मूल्य",
    col_discount="छूट",
    col_taxable_value="कर योग्य मूल्य",
    col_tax="कर",
    col_amount="राशि",
    taxable_value="कर योग्य मूल्य",
    tax_at="{tax} @ {rate}",
    vat="VAT",
    total="कुल",
    credit_applied="समायोजित क्रेडिट",
    amount_due="देय राशि",
    amount_in_words="राशि शब्दों में",
    notes="टिप्पणियाँ",
    exchange_rate=(
        "विनिमय दर: 1 {currency} = {rate} ({date}); INR में कर योग्य मूल्य और कर: "
        "{taxable} और {tax} (कुल {total})"
    ),
    for_supplier="कृते {name}",
    authorised_signatory="अधिकृत हस्ताक्षरकर्ता",
    computer_generated="यह कंप्यूटर द्वारा तैयार किया गया दस्तावेज़ है।",
    page="पृष्ठ {page} / {pages}",
)

DE = Labels(
    language="de",
    title_tax_invoice="Steuerrechnung",
    title_invoice="Rechnung",
    title_credit_note="Rechnungskorrektur",
    original_for_recipient="Original für den Empfänger",
    void="STORNIERT",
    bill_to="Rechnungsempfänger",
    number_invoice="Rechnungsnummer",
    number_credit_note="Nummer der Rechnungskorrektur",
    date_invoice="Rechnungsdatum",
    date_credit_note="Datum der Rechnungskorrektur",
    due_date="Fällig am",
    service_period="Leistungszeitraum",
    original_invoice="Ursprüngliche Rechnung",
    place_of_supply="Leistungsort",
    state_code="Bundesstaat: {name}, Code: {code}",
    country="Land",
    email="E-Mail",
    gstin="GSTIN",
    vat_number="USt-IdNr.",
    oss_number="USt-IdNr. (OSS)",
    reverse_charge_question="Steuerschuld im Reverse-Charge-Verfahren",
    yes="Ja",
    no="Nein",
    reverse_charge="Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)",
    supplier_vat="USt-IdNr. des Leistenden",
    customer_vat="USt-IdNr. des Leistungsempfängers",
    col_number="#",
    col_description="Beschreibung",
    col_sac="SAC",
    col_quantity="Menge",
    col_unit_price="Einzelpreis",
    col_discount="Rabatt",
    col_taxable_value="Nettobetrag",
    col_tax="Steuer",
    col_amount="Betrag",
    taxable_value="Nettobetrag",
    tax_at="{tax} {rate}",
    vat="USt.",
    total="Gesamtbetrag",
    credit_applied="Angerechnetes Guthaben",
    amount_due="Zahlbetrag",
    amount_in_words="Betrag in Worten",
    notes="Hinweise",
    exchange_rate=(
        "Wechselkurs: 1 {currency} = {rate} ({date}); Nettobetrag und Steuer in INR: "
        "{taxable} und {tax} (gesamt {total})"
    ),
    for_supplier="Für {name}",
    authorised_signatory="Zeichnungsberechtigte Person",
    computer_generated="Dieses Dokument wurde maschinell erstellt.",
    page="Seite {page} von {pages}",
)

FR = Labels(
    language="fr",
    title_tax_invoice="Facture fiscale",
    title_invoice="Facture",
    title_credit_note="Avoir",
    original_for_recipient="Original destinataire",
    void="ANNULÉE",
    bill_to="Facturé à",
    number_invoice="Numéro de facture",
    number_credit_note="Numéro d'avoir",
    date_invoice="Date de facture",
    date_credit_note="Date de l'avoir",
    due_date="Date d'échéance",
    service_period="Période de service",
    original_invoice="Facture d'origine",
    place_of_supply="Lieu de prestation",
    state_code="État : {name}, code : {code}",
    country="Pays",
    email="E-mail",
    gstin="GSTIN",
    vat_number="N° de TVA",
    oss_number="N° de TVA (OSS)",
    reverse_charge_question="Taxe due par le preneur (autoliquidation)",
    yes="Oui",
    no="Non",
    reverse_charge="Autoliquidation",
    supplier_vat="N° de TVA du prestataire",
    customer_vat="N° de TVA du preneur",
    col_number="#",
    col_description="Description",
    col_sac="SAC",
    col_quantity="Qté",
    col_unit_price="Prix unitaire",
    col_discount="Remise",
    col_taxable_value="Base imposable",
    col_tax="Taxe",
    col_amount="Montant",
    taxable_value="Base imposable",
    tax_at="{tax} {rate}",
    vat="TVA",
    total="Total",
    credit_applied="Crédit imputé",
    amount_due="Montant dû",
    amount_in_words="Montant en lettres",
    notes="Mentions",
    exchange_rate=(
        "Taux de change : 1 {currency} = {rate} ({date}) ; base imposable et taxe en INR : "
        "{taxable} et {tax} (total {total})"
    ),
    for_supplier="Pour {name}",
    authorised_signatory="Signataire autorisé",
    computer_generated="Document généré par ordinateur.",
    page="Page {page} sur {pages}",
)

_BY_LANGUAGE = {labels.language: labels for labels in (EN, HI, DE, FR)}
LANGUAGES = frozenset(_BY_LANGUAGE)


def labels_for(language: str) -> Labels:
    """The labels of `language`; English for a language invoices are not printed in."""
    return _BY_LANGUAGE.get(language, EN)
