# Les pages destinées aux personnes concernées : formulaire, confirmation, suivi et page du mandataire.

## Chaque page.
site-title = Vos droits sur vos données
site-header = Demandes relatives aux données personnelles
language-switcher = Langue

## Le formulaire de demande.
form-title = Faire une demande relative à vos données
form-heading = Faire une demande concernant vos données personnelles
form-intro = Vous pouvez nous demander une copie de vos données, leur rectification, leur suppression, la limitation de leur utilisation ou vous y opposer, ou encore les recevoir dans un format portable. Nous répondons sous {$days} jours.
form-gpc = Nous avons reçu le signal Global Privacy Control de votre navigateur. Nous avons choisi pour vous ci-dessous l’opt-out de la vente et du partage de vos informations personnelles : confirmez votre adresse et nous le respecterons.
form-kind = Que souhaitez-vous que nous fassions ?
form-email = Votre adresse e-mail
form-email-hint = Nous envoyons un lien à cette adresse pour confirmer qu’elle vous appartient.
form-name = Votre nom
form-optional = (facultatif)
form-details = Tout ce qui nous aide à trouver vos données
form-residence = Où vous vivez
form-residence-hint-html = Le code de votre pays, par exemple <em>DE</em> ou <em>BR</em> ; aux États-Unis, également votre État, par exemple <em>US-VA</em>. Il nous indique quelle loi sur la protection des données s’applique à votre demande.
form-account-default-label = Numéro client
form-account-needed-for = (requis pour : {$kinds})
form-account-hint = Pour que vous seul receviez vos données, nous vérifions cette information dans nos dossiers.
form-scope = Ce à quoi vous vous opposez
form-scope-only = (uniquement pour une opposition)
form-scope-marketing = E-mails et autre prospection directe (nous arrêtons toujours)
form-scope-profiling = Profilage, par exemple votre notation ou votre segmentation
form-scope-processing = Une autre utilisation de mes données, que je précise ci-dessous
form-processing = L’utilisation de vos données à laquelle vous vous opposez
form-processing-only = (uniquement pour « une autre utilisation »)
form-corrections = Corrections
form-corrections-only = (uniquement pour une demande de rectification)
form-corrections-hint-html = Une par ligne, sous la forme <em>champ : valeur correcte</em>, par exemple <em>name: Ada Lovelace</em>.
form-recipients = Indiquez-moi qui a reçu mes données
form-recipients-hint = Lorsque nous avons supprimé, rectifié ou limité vos données, nous en informons les entreprises avec lesquelles nous les avons partagées. Cochez cette case et nous les citerons dans notre réponse.
form-agent-legend = Vous faites la demande pour quelqu’un d’autre ?
form-agent-check = Je fais la demande pour quelqu’un d’autre (en tant que mandataire autorisé)
form-agent-hint = L’adresse e-mail ci-dessus est alors la sienne : nous lui écrivons pour confirmer la demande, et tout ce que nous envoyons en réponse lui est adressé, pas à vous.
form-agent-name = Votre nom
form-agent-email-hint = Nous vous envoyons un lien pour suivre l’avancement de la demande.
form-agent-organisation = Votre organisation
form-agent-document = L’autorisation signée de la personne
form-agent-document-types = (PDF, PNG, JPEG ou texte, 10 Mo au maximum)
form-agent-statement = Ou : votre procuration
form-agent-statement-hint = (qui vous l’a donnée, quand et pour quoi)
form-submit = Envoyer la demande

## Problèmes dans le formulaire envoyé.
form-error-unreadable = Le formulaire n’a pas pu être lu. Veuillez le remplir à nouveau.
form-error-too-large = Les fichiers sont trop volumineux au total. Envoyez au maximum 3 fichiers de 10 Mo chacun.
form-error-one-file = Ajoutez un fichier : l’autorisation signée.
form-error-kind = Choisissez ce que vous souhaitez que nous fassions.
form-error-corrections = écrivez chaque correction sous la forme `champ : valeur correcte` (ligne « {$line} »)

## Après l’envoi du formulaire.
submitted-title = Consultez vos e-mails
submitted-agent = Nous enverrons à la personne que vous représentez, à l’adresse indiquée, un lien pour confirmer la demande ; nous y donnerons suite une fois qu’elle l’aura confirmée. Vous recevrez un e-mail avec un lien pour en suivre l’avancement.
submitted-subject = Si l’adresse indiquée est la vôtre, vous recevrez de notre part dans quelques minutes un e-mail contenant un lien pour confirmer votre demande.
submitted-reference-html = La référence de votre demande est <span class="ref">{$reference}</span>. Le lien est valable {$hours} heures.
submitted-nothing-arrived = Vous n’avez rien reçu ? Vérifiez votre dossier de courrier indésirable, ou renvoyez le formulaire pour obtenir un nouveau lien.

## Le lien de confirmation.
confirm-title = Confirmez votre demande
confirm-question-html = Veuillez confirmer votre demande de <strong>{$kind}</strong> (référence <span class="ref">{$reference}</span>).
confirm-why = Nous ne commençons qu’après votre confirmation, afin que personne ne puisse faire une demande en votre nom.
confirm-button = Oui, c’est ma demande
verified-title = Demande confirmée
verified-heading = Merci, votre demande est confirmée
verified-due-html = Référence <span class="ref">{$reference}</span>. Nous vous répondrons au plus tard le <strong>{$due_date}</strong>.
verified-status-link = Nous vous avons envoyé un e-mail contenant un lien pour suivre votre demande.

## Un lien qui n’est plus valable.
gone-title = Lien expiré
gone-heading = Ce lien n’est plus valable
gone-why = Le lien a peut-être déjà été utilisé, a expiré ou est incomplet.
gone-again-html = Si vous souhaitez toujours faire une demande, <a href="/">renvoyez le formulaire</a> et nous vous enverrons un nouveau lien.

## Réponses courtes à ce que la personne a fait.
message-back = Retour au formulaire de demande
message-not-accepted = Non accepté
message-too-long = Ce que vous avez envoyé est trop long. Veuillez le raccourcir et réessayer.
message-unreadable = Ce que vous avez envoyé n’a pas pu être lu. Veuillez revenir en arrière et réessayer.
message-too-much-text = Trop de texte
message-too-much-text-text = Le formulaire envoyé dépasse la taille que nous acceptons. Veuillez le raccourcir et réessayer.
message-wait = Veuillez patienter un peu
message-wait-intake = Nous avons récemment reçu plusieurs demandes de votre part ou pour cette adresse. Veuillez réessayer plus tard.
message-wait-link = Nous vous avons déjà envoyé le lien plusieurs fois aujourd’hui. Veuillez rechercher notre e-mail, ou réessayer demain.
message-error = Un problème est survenu
message-error-intake = Nous n’avons pas pu enregistrer votre demande pour le moment. Veuillez réessayer dans quelques minutes.
message-error-download = Nous n’avons pas pu préparer votre téléchargement pour le moment. Veuillez réessayer dans quelques minutes.
message-answer-not-sent = Votre réponse n’a pas été envoyée
message-go-back = {$problem} Veuillez revenir en arrière et réessayer.
message-nothing-sent = Rien n’a été envoyé
message-nothing-sent-text = Votre réponse était vide, nous n’avons donc rien envoyé. Revenez en arrière pour écrire une réponse ou ajouter un fichier.
message-thanks = Merci
message-answer-received = Nous avons reçu votre réponse. Si votre demande l’attendait, nous en avons repris le traitement. Vous pouvez la suivre sur la même page qu’auparavant.
message-no-answers = Cette demande n’accepte plus de réponses.
message-link-sent = Lien envoyé
message-link-sent-text = Nous avons envoyé le lien de téléchargement à l’adresse indiquée avec votre demande. Il peut mettre quelques minutes à arriver.
message-no-package = Aucun paquet à télécharger
message-no-package-text = Aucun paquet contenant vos données ne peut être téléchargé pour le moment. Pour obtenir une nouvelle copie, répondez à notre e-mail de clôture en indiquant votre référence.
message-objection-withdrawn = Opposition retirée
message-objection-lifted = Nous avons retiré votre adresse de notre liste d’exclusion. Nous pouvons de nouveau utiliser vos données pour la finalité à laquelle vous vous étiez opposé ; vous pouvez vous y opposer de nouveau à tout moment.
message-objection-stopped = Nous avons cessé de traiter votre opposition. Vous pouvez vous opposer de nouveau à tout moment.
message-nothing-to-withdraw = Rien à retirer
message-nothing-to-withdraw-text = Cette demande ne comporte aucune opposition en vigueur qui pourrait être retirée.
message-opt-out-taken-back = Opt-out retiré
message-opt-out-taken-back-text = Nous retirons votre opt-out (demande {$reference}) : nos systèmes traiteront de nouveau vos données comme auparavant, et nous retirons votre adresse de notre liste d’exclusion à ce titre. Nous vous écrirons une fois que ce sera fait. Vous pouvez refaire un opt-out à tout moment.
message-opt-out-withdrawn = Opt-out annulé
message-opt-out-withdrawn-text = Nous avons cessé de traiter votre opt-out. Vous pouvez refaire un opt-out à tout moment.
message-nothing-to-take-back = Rien à retirer
message-nothing-to-take-back-text = Cette demande ne comporte aucun opt-out en vigueur qui pourrait être retiré.
message-appeal-received = Recours reçu
message-appeal-received-text = Votre recours a la référence {$reference}. Un membre de notre équipe qui n’a pas pris la décision l’examinera et vous répondra au plus tard le {$due_date}. Nous vous avons envoyé un lien pour le suivre.
message-appeal-refused = Cette décision ne peut pas faire l’objet d’un recours
message-appeal-refused-text = Un recours a déjà été formé contre cette décision, ou le délai de recours est dépassé. Veuillez rechercher notre e-mail concernant votre recours.
message-appeal-too-long = Vos motifs sont trop longs
message-appeal-too-long-text = Veuillez limiter vos motifs à 5000 caractères et réessayer.

## La page de suivi.
status-title = Votre demande {$reference}
status-heading = Votre demande
status-asked-for = Objet de votre demande
status-label = Statut
status-received = Reçue le
status-answer-by = Nous répondrons au plus tard le
status-your-data = Vos données
status-export-ready = La copie de vos données est prête. Pour votre sécurité, cette page n’affiche pas le lien de téléchargement : nous l’envoyons à l’adresse indiquée avec votre demande.
status-export-button = M’envoyer le lien de téléchargement par e-mail
status-export-until = Le lien est valable jusqu’au {$expires} et pour quelques téléchargements seulement. Le paquet contient un guide (README.txt) qui explique chaque fichier.
status-export-used-up = Le lien de téléchargement a été utilisé autant de fois qu’il le permet. Pour obtenir un nouveau lien, répondez à notre e-mail de clôture en indiquant la référence ci-dessus.
status-export-expired-html = Le paquet contenant vos données a expiré et a été supprimé pour votre sécurité. Pour obtenir une nouvelle copie, répondez à notre e-mail de clôture en indiquant la référence ci-dessus, ou <a href="/">faites une nouvelle demande</a>.
status-systems = Ce que nous avons fait dans chaque système
status-recipients = Qui a reçu vos données
status-recipients-unknown = Notre liste de destinataires n’est pas encore enregistrée dans ce service. Répondez à notre e-mail de clôture et nous vous la communiquerons.
status-changed-mind = Vous avez changé d’avis ?
status-opt-in-completed = Vous pouvez retirer votre opt-out. Nos systèmes traiteraient alors de nouveau vos données comme auparavant, et nous retirerions votre adresse de notre liste d’exclusion à ce titre.
status-opt-in-open = Vous pouvez annuler votre opt-out ; nous cesserions alors de le traiter.
status-opt-in-button = Retirer mon opt-out
status-appeal = Former un recours contre cette décision
status-appeal-text = Si vous n’êtes pas d’accord avec notre décision, vous pouvez former un recours jusqu’au {$until}. Un membre de notre équipe qui n’a pas pris la décision l’examinera et vous répondra sous {$within}.
status-appeal-reasons = Pourquoi n’êtes-vous pas d’accord ? (facultatif)
status-withdraw-completed = Vous pouvez retirer votre opposition. Nous retirerions alors votre adresse de notre liste d’exclusion et pourrions de nouveau utiliser vos données pour la finalité à laquelle vous vous êtes opposé.
status-withdraw-open = Vous pouvez retirer votre opposition ; nous cesserions alors de la traiter.
status-withdraw-button = Retirer mon opposition
status-messages = Messages
status-we-asked = Nous vous avons demandé
status-we-wrote = Nous avons écrit
status-you-answered = Vous avez répondu
status-waiting-for-answer = Nous attendons votre réponse à notre question avant de continuer.
status-your-answer = Votre réponse
status-files = Fichiers
status-files-hint = (jusqu’à 3 ; PDF, PNG, JPEG ou texte ; 10 Mo au maximum chacun)
status-reply-button = Envoyer ma réponse
status-history = Historique

## La page du mandataire autorisé.
agent-status-title = Demande {$reference}
agent-status-heading = La demande que vous avez envoyée
agent-status-asked-for = Objet de la demande
agent-status-confirmed = Confirmée par la personne
agent-status-yes = Oui
agent-status-not-yet = Pas encore
agent-status-answer = Notre réponse
agent-status-consent = La personne a accepté que vous receviez notre réponse : écrivez-nous en indiquant la référence ci-dessus et nous vous l’enverrons.
agent-status-direct = Nous répondons directement à la personne, à l’adresse indiquée avec la demande. Toute copie de ses données lui est adressée, jamais à vous, sauf si elle nous indique que vous pouvez la recevoir.
