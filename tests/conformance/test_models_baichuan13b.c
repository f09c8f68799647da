/* baichuan13b models in fixtures/models against llama.cpp's references (rules in llm_models.h). */
#include "llm_models.h"

int main(void)
{
    return run_models("baichuan13b-");
}
