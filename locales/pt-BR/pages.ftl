# As páginas para os titulares: formulário, confirmação, acompanhamento e página do representante.

## Todas as páginas.
site-title = Seus direitos de privacidade
site-header = Solicitações de privacidade
language-switcher = Idioma

## O formulário de solicitação.
form-title = Fazer uma solicitação de privacidade
form-heading = Fazer uma solicitação sobre seus dados pessoais
form-intro = Você pode nos pedir uma cópia dos seus dados, que os corrijamos, que os excluamos, que restrinjamos ou deixemos de fazer seu uso, ou recebê-los em formato portável. Respondemos em até {$days} dias.
form-gpc = Recebemos o sinal Global Privacy Control do seu navegador. Abaixo, escolhemos para você o opt-out da venda e do compartilhamento das suas informações pessoais: confirme seu endereço e nós o respeitaremos.
form-kind = O que você gostaria que fizéssemos?
form-email = Seu endereço de e-mail
form-email-hint = Enviamos um link para este endereço para confirmar que ele é seu.
form-name = Seu nome
form-optional = (opcional)
form-details = Qualquer informação que nos ajude a encontrar seus dados
form-residence = Onde você mora
form-residence-hint-html = O código do seu país, por exemplo <em>DE</em> ou <em>BR</em>; nos Estados Unidos, também o seu estado, por exemplo <em>US-VA</em>. Ele nos diz qual lei de privacidade se aplica à sua solicitação.
form-account-default-label = Número de cliente
form-account-needed-for = (necessário para: {$kinds})
form-account-hint = Para que só você receba seus dados, conferimos esta informação com nossos registros.
form-scope = A que você se opõe
form-scope-only = (somente para oposição)
form-scope-marketing = E-mails e outros tipos de marketing direto (sempre paramos)
form-scope-profiling = Criação de perfis, por exemplo pontuar ou segmentar você
form-scope-processing = Outro uso dos meus dados, que indico abaixo
form-processing = O uso dos seus dados ao qual você se opõe
form-processing-only = (somente para “outro uso”)
form-corrections = Correções
form-corrections-only = (somente para uma solicitação de correção)
form-corrections-hint-html = Uma por linha, no formato <em>campo: valor correto</em>, por exemplo <em>name: Ada Lovelace</em>.
form-recipients = Quero saber quem recebeu meus dados
form-recipients-hint = Quando excluímos, corrigimos ou restringimos seus dados, avisamos as empresas com quem os compartilhamos. Marque esta opção e nós as listaremos na nossa resposta.
form-agent-legend = Está fazendo a solicitação por outra pessoa?
form-agent-check = Estou fazendo a solicitação por outra pessoa (como seu representante autorizado)
form-agent-hint = Nesse caso, o endereço de e-mail acima é o dela: escrevemos para ela confirmar a solicitação, e tudo o que enviarmos em resposta vai para ela, não para você.
form-agent-name = Seu nome
form-agent-email-hint = Enviamos a você um link para acompanhar o andamento da solicitação.
form-agent-organisation = Sua organização
form-agent-document = A autorização assinada da pessoa
form-agent-document-types = (PDF, PNG, JPEG ou texto, no máximo 10 MB)
form-agent-statement = Ou: sua procuração
form-agent-statement-hint = (quem a concedeu a você, quando e para quê)
form-submit = Enviar solicitação

## Problemas no formulário enviado.
form-error-unreadable = Não foi possível ler o formulário. Preencha-o novamente.
form-error-too-large = Os arquivos são grandes demais no total. Envie no máximo 3 arquivos de 10 MB cada.
form-error-one-file = Adicione um arquivo: a autorização assinada.
form-error-kind = Escolha o que você gostaria que fizéssemos.
form-error-corrections = escreva cada correção no formato `campo: valor correto` (linha “{$line}”)

## Depois de enviar o formulário.
submitted-title = Confira seu e-mail
submitted-agent = Enviaremos à pessoa que você representa, no endereço informado, um link para confirmar a solicitação; agiremos assim que ela confirmar. Você receberá um e-mail com um link para acompanhar o andamento.
submitted-subject = Se o endereço informado for seu, você receberá nosso e-mail em alguns minutos com um link para confirmar sua solicitação.
submitted-reference-html = A referência da sua solicitação é <span class="ref">{$reference}</span>. O link é válido por {$hours} horas.
submitted-nothing-arrived = Não chegou nada? Confira sua pasta de spam ou envie o formulário novamente para receber um novo link.

## O link de confirmação.
confirm-title = Confirme sua solicitação
confirm-question-html = Confirme que você pediu <strong>{$kind}</strong> (referência <span class="ref">{$reference}</span>).
confirm-why = Só começamos depois da sua confirmação, para que ninguém possa fazer uma solicitação em seu nome.
confirm-button = Sim, esta é minha solicitação
verified-title = Solicitação confirmada
verified-heading = Obrigado, sua solicitação está confirmada
verified-due-html = Referência <span class="ref">{$reference}</span>. Responderemos até <strong>{$due_date}</strong>.
verified-status-link = Enviamos a você um e-mail com um link onde você pode acompanhar sua solicitação.

## Um link que não vale mais.
gone-title = Link inválido
gone-heading = Este link não é mais válido
gone-why = O link pode já ter sido usado, ter expirado ou estar incompleto.
gone-again-html = Se ainda quiser fazer uma solicitação, <a href="/">envie o formulário novamente</a> e mandaremos um novo link por e-mail.

## Respostas curtas ao que o titular fez.
message-back = Voltar ao formulário de solicitação
message-not-accepted = Não aceito
message-too-long = O que você enviou é longo demais. Encurte o texto e tente novamente.
message-unreadable = Não foi possível ler o que você enviou. Volte e tente novamente.
message-too-much-text = Texto demais
message-too-much-text-text = O formulário enviado é maior do que aceitamos. Encurte o texto e tente novamente.
message-wait = Aguarde um pouco
message-wait-intake = Recebemos recentemente várias solicitações suas ou para este endereço. Tente novamente mais tarde.
message-wait-link = Já enviamos o link para você várias vezes hoje. Procure nosso e-mail ou tente novamente amanhã.
message-error = Algo deu errado
message-error-intake = Não conseguimos registrar sua solicitação agora. Tente novamente em alguns minutos.
message-error-download = Não conseguimos preparar seu download agora. Tente novamente em alguns minutos.
message-answer-not-sent = Sua resposta não foi enviada
message-go-back = {$problem} Volte e tente novamente.
message-nothing-sent = Nada foi enviado
message-nothing-sent-text = Sua resposta estava vazia, então não enviamos nada. Volte para escrever uma resposta ou adicionar um arquivo.
message-thanks = Obrigado
message-answer-received = Recebemos sua resposta. Se sua solicitação estava aguardando por ela, retomamos o atendimento. Você pode acompanhá-la na mesma página de antes.
message-no-answers = Esta solicitação não aceita mais respostas.
message-link-sent = Link enviado
message-link-sent-text = Enviamos o link de download para o endereço informado na sua solicitação. Ele pode levar alguns minutos para chegar.
message-no-package = Nenhum pacote para baixar
message-no-package-text = No momento não há nenhum pacote com seus dados que possa ser baixado. Para obter uma nova cópia, responda ao nosso e-mail de conclusão informando sua referência.
message-objection-withdrawn = Oposição retirada
message-objection-lifted = Tiramos seu endereço da nossa lista de bloqueio. Podemos voltar a usar seus dados para a finalidade à qual você tinha se oposto; você pode se opor novamente a qualquer momento.
message-objection-stopped = Paramos de atender sua oposição. Você pode se opor novamente a qualquer momento.
message-nothing-to-withdraw = Nada a retirar
message-nothing-to-withdraw-text = Esta solicitação não tem nenhuma oposição em vigor que possa ser retirada.
message-opt-out-taken-back = Opt-out cancelado
message-opt-out-taken-back-text = Estamos cancelando seu opt-out (solicitação {$reference}): nossos sistemas voltarão a tratar seus dados como antes, e tiraremos seu endereço da nossa lista de bloqueio para ele. Avisaremos você por e-mail quando estiver concluído. Você pode fazer o opt-out novamente a qualquer momento.
message-opt-out-withdrawn = Opt-out retirado
message-opt-out-withdrawn-text = Paramos de atender seu opt-out. Você pode fazer o opt-out novamente a qualquer momento.
message-nothing-to-take-back = Nada a cancelar
message-nothing-to-take-back-text = Esta solicitação não tem nenhum opt-out em vigor que possa ser cancelado.
message-appeal-received = Recurso recebido
message-appeal-received-text = Seu recurso tem a referência {$reference}. Um membro da nossa equipe que não tomou a decisão vai analisá-lo e responder até {$due_date}. Enviamos a você um link para acompanhá-lo.
message-appeal-refused = Não é possível recorrer desta decisão
message-appeal-refused-text = Já houve recurso contra esta decisão, ou o prazo para recorrer terminou. Procure nosso e-mail sobre o seu recurso.
message-appeal-too-long = Seus motivos são longos demais
message-appeal-too-long-text = Encurte seus motivos para no máximo 5000 caracteres e tente novamente.

## A página de acompanhamento.
status-title = Sua solicitação {$reference}
status-heading = Sua solicitação
status-asked-for = O que você pediu
status-label = Status
status-received = Recebida em
status-answer-by = Responderemos até
status-your-data = Seus dados
status-export-ready = A cópia dos seus dados está pronta. Para sua segurança, esta página não mostra o link de download: nós o enviamos para o endereço informado na sua solicitação.
status-export-button = Enviar-me o link de download por e-mail
status-export-until = O link vale até {$expires} e apenas para alguns downloads. O pacote inclui um guia (README.txt) que explica cada arquivo.
status-export-used-up = O link de download já foi usado o número máximo de vezes. Para obter um novo link, responda ao nosso e-mail de conclusão informando a referência acima.
status-export-expired-html = O pacote com seus dados expirou e foi excluído para sua segurança. Para obter uma nova cópia, responda ao nosso e-mail de conclusão informando a referência acima, ou <a href="/">faça uma nova solicitação</a>.
status-systems = O que fizemos em cada sistema
status-recipients = Quem recebeu seus dados
status-recipients-unknown = Nossa lista de destinatários ainda não está registrada neste serviço. Responda ao nosso e-mail de conclusão e nós informaremos você.
status-changed-mind = Mudou de ideia?
status-opt-in-completed = Você pode cancelar seu opt-out. Nossos sistemas voltariam a tratar seus dados como antes, e tiraríamos seu endereço da nossa lista de bloqueio para ele.
status-opt-in-open = Você pode retirar seu opt-out; nesse caso, pararíamos de atendê-lo.
status-opt-in-button = Cancelar meu opt-out
status-appeal = Recorrer desta decisão
status-appeal-text = Se você não concorda com nossa decisão, pode recorrer até {$until}. Um membro da nossa equipe que não tomou a decisão vai analisá-la e responder em até {$within}.
status-appeal-reasons = Por que você não concorda? (opcional)
status-withdraw-completed = Você pode retirar sua oposição. Nesse caso, tiraríamos seu endereço da nossa lista de bloqueio e poderíamos voltar a usar seus dados para a finalidade à qual você se opôs.
status-withdraw-open = Você pode retirar sua oposição; nesse caso, pararíamos de atendê-la.
status-withdraw-button = Retirar minha oposição
status-messages = Mensagens
status-we-asked = Perguntamos a você
status-we-wrote = Escrevemos
status-you-answered = Você respondeu
status-waiting-for-answer = Estamos aguardando sua resposta à nossa pergunta para continuar.
status-your-answer = Sua resposta
status-files = Arquivos
status-files-hint = (até 3; PDF, PNG, JPEG ou texto; no máximo 10 MB cada)
status-reply-button = Enviar minha resposta
status-history = Histórico

## A página do representante autorizado.
agent-status-title = Solicitação {$reference}
agent-status-heading = A solicitação que você enviou
agent-status-asked-for = Pedido
agent-status-confirmed = Confirmada pela pessoa
agent-status-yes = Sim
agent-status-not-yet = Ainda não
agent-status-answer = Nossa resposta
agent-status-consent = A pessoa concordou que você receba nossa resposta: escreva para nós informando a referência acima e a enviaremos a você.
agent-status-direct = Respondemos diretamente à pessoa, no endereço informado na solicitação. Qualquer cópia dos dados dela vai para ela, nunca para você, a menos que ela nos diga que você pode recebê-la.
